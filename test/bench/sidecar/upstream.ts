// The benchmark's HTTPS upstream, in its own process: node upstream.js <cert> <key>
// Prints its port. Answers every request with a small JSON body.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [certPath, keyPath] = process.argv.slice(2);
if (certPath === undefined || keyPath === undefined) throw new Error("usage: upstream.js <cert.pem> <key.pem>");
const body = JSON.stringify({ ok: true, text: "x".repeat(64) });
const server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath), keepAliveTimeout: 60_000 }, (request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    response.end(body);
  });
});
// Dual-stack, so proxies that resolve localhost to ::1 reach it too.
server.listen(0, "::", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
