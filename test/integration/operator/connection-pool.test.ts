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

interface FakeApi {
  kc: KubeConfig;
  /** Requests the server has received and not answered yet, by method and path. */
  held: { what: string; answer: () => void }[];
  connections: () => number;
}

async function fakeApi(t: { after: (fn: () => void) => void }): Promise<FakeApi> {
  const { key, cert } = selfSigned();
  let connections = 0;
  const held: FakeApi["held"] = [];
  const server = createServer({ key, cert }, (req, res) => {
    // KubernetesObjectApi's discovery of whether pods are namespaced: answered at once.
    if (req.url === "/api/v1") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["create", "get"] }] }));
      return;
    }
    held.push({
      what: `${req.method ?? ""} ${req.url ?? ""}`,
      answer: () => {
        res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: "v1", kind: req.method === "POST" ? "Pod" : "Namespace", metadata: { name: req.url?.split("/").pop() ?? "" } }));
      },
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
  return { kc, held, connections: () => connections };
}

test("a burst of API calls goes over at most maxConnections verified TLS connections", async (t) => {
  const api = await fakeApi(t);
  const { core } = makeClients(api.kc, 10_000, 3);
  const calls = Array.from({ length: 12 }, (_, i) => core.readNamespace({ name: `ns-${i}` }));
  await waitFor("the pool's connections to carry requests", () => (api.held.length === 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
  // Answered one at a time: every further request must reuse one of the three connections.
  let finished = false;
  const all = Promise.all(calls).finally(() => (finished = true));
  while (!finished) {
    api.held.shift()?.answer();
    await new Promise((r) => setImmediate(r));
  }
  await all;
  const names = (await Promise.all(calls)).map((n) => n.metadata?.name);
  assert.deepEqual(names, Array.from({ length: 12 }, (_, i) => `ns-${i}`));
  assert.equal(api.connections(), 3);
});

test("pod creates have their own connections: a saturated pool does not hold them back", async (t) => {
  const api = await fakeApi(t);
  const clients = makeClients(api.kc, 10_000, 2);
  const reads = Array.from({ length: 6 }, (_, i) => clients.core.readNamespace({ name: `ns-${i}` }));
  await waitFor("the shared pool saturated", () => (api.held.length === 2 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
  const created = clients.podObjects.create({ apiVersion: "v1", kind: "Pod", metadata: { name: "s-1", namespace: "team" } });
  await waitFor("the pod's create to reach the server while the reads still wait", () => (api.held.some((h) => h.what.startsWith("POST /api/v1/namespaces/team/pods")) ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
  assert.equal(api.held.length, 3, "only the two reads of the shared pool and the pod's create are in flight");
  let finished = false;
  const all = Promise.all([created, ...reads]).finally(() => (finished = true));
  while (!finished) {
    api.held.shift()?.answer();
    await new Promise((r) => setImmediate(r));
  }
  await all;
});
