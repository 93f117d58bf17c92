// A reference point for the benchmark: the least a Node TLS-terminating CONNECT proxy does
// (terminate, forward on a per-connection keep-alive agent, pipe back) with none of the
// sidecar's checks, swap, scrubbing or audit. The gap between it and the sidecar is the
// sidecar's own cost; the gap between it and direct is Node's.
//   node minimal-proxy.js <leaf.crt> <leaf.key> <upstream-ca.crt>   → prints {"port":…}
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Agent, request } from "node:https";
import type { LookupFunction, Socket } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";

const [certPath, keyPath, caPath] = process.argv.slice(2);
if (certPath === undefined || keyPath === undefined || caPath === undefined) throw new Error("usage: minimal-proxy.js <cert> <key> <upstream-ca>");
const leaf = createSecureContext({ cert: readFileSync(certPath), key: readFileSync(keyPath) });
const upstreamTls = createSecureContext({ ca: readFileSync(caPath) });
const loopback = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
  if (options.all === true) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
}) as LookupFunction;
const agents = new WeakMap<object, Agent>();

const inner = createServer((incoming: IncomingMessage, response: ServerResponse) => {
  let agent = agents.get(incoming.socket);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true });
    agents.set(incoming.socket, agent);
  }
  const port = Number((incoming.headers.host ?? "").split(":")[1] ?? 443);
  const options = { host: "localhost", port, path: incoming.url, method: incoming.method, headers: incoming.headers, agent, secureContext: upstreamTls, lookup: loopback };
  const upstream = request(options);
  upstream.on("response", (reply) => {
    response.writeHead(reply.statusCode ?? 502, reply.headers);
    reply.pipe(response);
  });
  upstream.on("error", () => response.destroy());
  incoming.pipe(upstream);
});
// bench.ts measures its targets in turns: a kept-alive connection waits idle while the others run.
inner.keepAliveTimeout = 120_000;
const outer = createServer();
outer.on("connect", (_request: IncomingMessage, socket: Socket) => {
  socket.on("error", () => socket.destroy());
  socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
  const tls = new TLSSocket(socket, { isServer: true, secureContext: leaf });
  tls.on("error", () => tls.destroy());
  inner.emit("connection", tls);
});
outer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (outer.address() as { port: number }).port })}\n`);
});
