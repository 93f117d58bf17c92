// The CLI over real TLS: without the server's CA it refuses and says how to fix it; with
// --ca-file (or AGENTBOX_CA_FILE) it connects. The HTTPS server here is a small FAKE that
// answers one route; the certificates come from openssl.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT } from "../../../cli/exit-codes.js";
import { agentbox, TOKENS } from "./harness.js";

const dir = mkdtempSync(join(tmpdir(), "agentbox-cli-tls-"));
const file = (name: string): string => join(dir, name);
let server: Server;
let url = "";
const seen: string[] = [];

before(async () => {
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=agentbox test CA", "-keyout", file("ca.key"), "-out", file("ca.crt"));
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", file("server.key"), "-out", file("server.csr"));
  writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", file("ext.cnf"), "-out", file("server.crt"));
  server = createServer({ key: readFileSync(file("server.key")), cert: readFileSync(file("server.crt")) }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization === `Bearer ${TOKENS.alice}` ? "token-ok" : "token-missing"}`);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [{ metadata: { name: "over-tls" }, spec: { agent: { image: "img:1" } } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("an untrusted certificate is refused with a hint to pass --ca-file", async () => {
  const cli = agentbox({ url }, ["templates"]);
  assert.equal(await cli.exit, EXIT.unavailable);
  assert.match(cli.stderr(), /TLS certificate is not trusted: pass --ca-file/);
  assert.equal(seen.length, 0, "no request was sent over the untrusted connection");
});

test("attach over wss refuses an untrusted certificate the same way", async () => {
  const cli = agentbox({ url }, ["attach", "any"]);
  assert.equal(await cli.exit, EXIT.unavailable);
  assert.match(cli.stderr(), /cannot attach to wss:\/\/127.0.0.1:\d+ \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): its TLS certificate is not trusted: pass --ca-file/);
});

test("--ca-file and AGENTBOX_CA_FILE trust the server's CA; the token goes in the Authorization header", async () => {
  const flag = agentbox({ url }, ["templates", "--ca-file", file("ca.crt")]);
  assert.equal(await flag.exit, 0, flag.stderr());
  assert.match(flag.stdout(), /over-tls\s+img:1/);
  const env = agentbox({ url }, ["templates"], { env: { AGENTBOX_CA_FILE: file("ca.crt") } });
  assert.equal(await env.exit, 0, env.stderr());
  assert.deepEqual(seen, ["GET /api/v1/namespaces/team/templates token-ok", "GET /api/v1/namespaces/team/templates token-ok"]);
});
