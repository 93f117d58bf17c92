// The operator's caches keep no managedFields, whether an object came in the informer's list or
// in a watch event. A fake API server (plain HTTP on loopback) serves one pod in the list and
// another in the watch stream, both carrying managedFields as a real API server sends them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { V1Pod, V1PodList } from "@kubernetes/client-node";
import { makeSlimInformer } from "../../../operator/informer.js";
import { waitFor } from "../../support/wait.js";
import { fakeKubeConfig } from "./fake-kubeconfig.js";

const pod = (name: string, rv: string): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "team",
    resourceVersion: rv,
    labels: { "app.kubernetes.io/managed-by": "agentbox" },
    managedFields: [{ manager: "agentbox-operator", operation: "Apply", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:containers": {} } } }],
  },
  spec: { containers: [{ name: "agent", image: "i" }] },
});

test("objects from the list and from watch events are cached without managedFields", async (t) => {
  const watches = new Set<ServerResponse>();
  const fake = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    res.writeHead(200, { "content-type": "application/json" });
    if (url.searchParams.get("watch") === "true") {
      watches.add(res);
      res.write(`${JSON.stringify({ type: "ADDED", object: pod("from-watch", "2") })}\n`);
      return;
    }
    res.end(JSON.stringify({ apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "1" }, items: [pod("from-list", "1")] }));
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const kc = fakeKubeConfig(fake);
  const list = async (): Promise<V1PodList> => (await (await fetch(`${kc.getCurrentCluster()!.server}/api/v1/namespaces/team/pods`)).json()) as V1PodList;
  const informer = makeSlimInformer<V1Pod>(kc, "/api/v1/namespaces/team/pods", list);
  t.after(async () => {
    await informer.stop();
    for (const res of watches) res.destroy();
    fake.closeAllConnections();
    fake.close();
  });
  await informer.start();
  await waitFor("the watched pod in the cache", () => informer.get("from-watch", "team"), { timeoutMs: 10_000, intervalMs: 20 });
  for (const name of ["from-list", "from-watch"]) {
    const cached = informer.get(name, "team");
    assert.ok(cached, `${name} is cached`);
    assert.equal(cached.metadata?.managedFields, undefined, `${name} kept its managedFields`);
    assert.deepEqual(cached.spec, pod(name, "").spec);
  }
});
