// The operator's /readyz must not say ready before its caches hold what the API server has:
// client-node's informers announce "connect" before they list. A real API server cannot be made
// to hold a list on demand, so this uses a fake one (plain HTTP on loopback) that answers every
// list only when the test opens a gate, and holds watches open without events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import pino from "pino";
import { Controller } from "../../../operator/controller.js";
import type { PlatformOptions } from "../../../operator/desired.js";
import { makeClients } from "../../../operator/kube.js";
import { createMetrics, serveMetrics } from "../../../operator/metrics.js";
import { waitFor } from "../../support/wait.js";
import { fakeKubeConfig } from "./fake-kubeconfig.js";

const PLATFORM: PlatformOptions = { image: "agentbox/platform:dev", serviceAccountName: "agentbox-sidecar", tokenAudience: "agentbox", extraEgress: [] };

test("the operator's /readyz answers 503 until every informer's list has come back", async (t) => {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const lists = new Set<string>();
  const heldWatches = new Set<ServerResponse>();
  const fake = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.searchParams.get("watch") === "true") {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      heldWatches.add(res);
      return;
    }
    lists.add(url.pathname);
    const kind = url.pathname.endsWith("/pods") ? "PodList" : "List";
    void gate.then(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ apiVersion: "v1", kind, metadata: { resourceVersion: "1" }, items: [] }));
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const kc = fakeKubeConfig(fake);
  const controller = new Controller({ clients: makeClients(kc), platform: PLATFORM, log: pino({ level: "silent" }), namespace: "", workers: 1, resyncSeconds: 300 });
  const metrics = createMetrics(() => [], () => 0);
  const { server, port } = await serveMetrics(metrics, "127.0.0.1", 0, () => controller.hasSynced);
  t.after(async () => {
    await controller.stop();
    for (const res of heldWatches) res.destroy();
    server.close();
    fake.closeAllConnections();
    fake.close();
  });
  const readyz = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

  const started = controller.startInformers();
  await waitFor("all three informers to ask for their lists", () => (lists.size === 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
  assert.equal(controller.hasSynced, false, "synced while every list was still outstanding");
  assert.equal(await readyz(), 503);

  openGate();
  await started;
  await waitFor("/readyz to answer 200 once the lists are in", async () => ((await readyz()) === 200 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
});
