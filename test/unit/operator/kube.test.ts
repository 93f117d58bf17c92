import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { makeClients } from "../../../operator/kube.js";

// A loopback "API server": answers /api/v1/namespaces/ok, never answers anything else.
async function apiServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/api/v1/namespaces/ok")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "ok" } }));
    }
    // otherwise: hold the request open, as a wedged API server would
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function kubeconfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: "c", server, skipTLSVerify: true }], users: [{ name: "u", token: "t" }], contexts: [{ name: "x", cluster: "c", user: "u" }], currentContext: "x" });
  return kc;
}

test("makeClients: a request the API server never answers fails after the timeout instead of hanging", async () => {
  const { server, url } = await apiServer();
  try {
    // Long enough that the answered request is not cut off on a loaded machine (300 ms was, in a
    // full suite at load 36), short enough to keep the test quick.
    const clients = makeClients(kubeconfig(url), 1_500);
    assert.equal((await clients.core.readNamespace({ name: "ok" })).metadata?.name, "ok");
    const started = Date.now();
    await assert.rejects(clients.core.readNamespace({ name: "wedged" }));
    const took = Date.now() - started;
    assert.ok(took >= 1_400 && took < 10_000, `took ${took} ms`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("makeClients: a kubeconfig without a current cluster is refused with a message", () => {
  assert.throws(() => makeClients(new KubeConfig()), /no current cluster/);
});
