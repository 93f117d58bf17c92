// The operator's API clients share one pool of at most `maxConnections` TLS connections: a
// burst of calls queues in the pool instead of opening a connection (and its native memory) per
// call. A TLS server on loopback with a throwaway certificate holds every request until the
// test has seen how many connections were opened, and the kubeconfig trusts that certificate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { makeClients } from "../../../operator/kube.js";
import { waitFor } from "../../support/wait.js";

function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "agentbox-pool-"));
  try {
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { encoding: "utf8" });
    assert.equal(r.status, 0, `openssl failed: ${r.stderr}`);
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a burst of API calls goes over at most maxConnections verified TLS connections", async (t) => {
  const { key, cert } = selfSigned();
  let connections = 0;
  const held: (() => void)[] = [];
  const server = createServer({ key, cert }, (req, res) => {
    held.push(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: req.url?.split("/").pop() ?? "" } }));
    });
  });
  server.on("secureConnection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caData: Buffer.from(cert).toString("base64") }],
    users: [{ name: "fake", token: "fake-apiserver-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  const { core } = makeClients(kc, 10_000, 3);
  const calls = Array.from({ length: 12 }, (_, i) => core.readNamespace({ name: `ns-${i}` }));
  await waitFor("the pool's connections to carry requests", () => (held.length === 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
  // Answered one at a time: every further request must reuse one of the three connections.
  let finished = false;
  const all = Promise.all(calls).finally(() => (finished = true));
  while (!finished) {
    held.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await all;
  const names = (await Promise.all(calls)).map((n) => n.metadata?.name);
  assert.deepEqual(names, Array.from({ length: 12 }, (_, i) => `ns-${i}`));
  assert.equal(connections, 3);
});
