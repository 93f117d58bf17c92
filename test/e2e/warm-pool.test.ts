// Warm pools on the real cluster, with the operator run in-process (as the other operator e2e
// tests do): a template keeps started pods; sessions that build the same pod adopt them (never
// two sessions one pod), others get their own; the pool refills, shrinks and goes with its
// template, leaving no Secret behind.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { waitFor } from "../support/wait.js";
import { mergePatch } from "../../operator/kube.js";
import type { RunningOperator } from "../../operator/main.js";
import { createSession, customApi, deleteSession, GROUP, hasReadyNode, installCrds, ownedObjects, readSession, runOperator, VERSION, waitForSession } from "./operator-support.js";

let cluster: Cluster;
let ns: string;
let operator: RunningOperator;

const TEMPLATE = "warm-shell";
const POOL = `agentbox.dev/warm-pool=${TEMPLATE}`;
const cred = { name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.com"], source: { secretKeyRef: { name: "anthropic-real", key: "api_key" } } };
const templateSpec = (size: number): Record<string, unknown> => ({
  agent: { image: SHELL_IMAGE, command: ["sh", "-c", "while :; do echo warm; sleep 1; done"] },
  credentials: [cred],
  egress: { allow: ["example.com"] },
  lifecycle: { mode: "Interactive" },
  warmPool: { size },
});

before(async () => {
  cluster = connect();
  if (!(await hasReadyNode(cluster))) throw new Error("the cluster has no Ready node: warm pools need pods that run");
  await installCrds(cluster);
  ns = await createNamespace(cluster, "warm-pool");
  await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "anthropic-real" }, stringData: { api_key: "sk-ant-api03-e2e-warm-REAL" } } });
  operator = await runOperator(cluster, ns);
});
after(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(cluster, ns);
});

const ready = (p: k8s.V1Pod): boolean => p.status?.phase === "Running" && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

async function warmPods(): Promise<k8s.V1Pod[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: POOL });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function poolObjects(): Promise<string[]> {
  const net = cluster.kc.makeApiClient(k8s.NetworkingV1Api);
  const [pods, secrets, nps] = await Promise.all([
    cluster.core.listNamespacedPod({ namespace: ns, labelSelector: POOL }),
    cluster.core.listNamespacedSecret({ namespace: ns, labelSelector: POOL }),
    net.listNamespacedNetworkPolicy({ namespace: ns, labelSelector: POOL }),
  ]);
  return [...pods.items.map((o) => `Pod/${o.metadata!.name!}`), ...secrets.items.map((o) => `Secret/${o.metadata!.name!}`), ...nps.items.map((o) => `NetworkPolicy/${o.metadata!.name!}`)];
}

async function waitForReadyPool(size: number, what: string, timeoutMs = 180_000): Promise<k8s.V1Pod[]> {
  return waitFor(what, async () => {
    const pods = await warmPods();
    return pods.length === size && pods.every(ready) ? pods : undefined;
  }, { timeoutMs, intervalMs: 500 });
}

async function setPoolSize(size: number): Promise<void> {
  await customApi(cluster).patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agenttemplates", name: TEMPLATE, body: { spec: { warmPool: { size } } } }, mergePatch);
}

let warmNames: string[] = [];

test("a template with warmPool.size 2 keeps 2 warm pods Running, owned by the template, with their own stub Secret and sidecar configuration", async () => {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentTemplate", metadata: { name: TEMPLATE }, spec: templateSpec(2) };
  const template = (await customApi(cluster).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agenttemplates", body })) as { metadata: { uid: string } };
  const pods = await waitForReadyPool(2, "2 warm pods Running and Ready");
  warmNames = pods.map((p) => p.metadata!.name!).sort();
  for (const pod of pods) {
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
    assert.deepEqual([owner?.kind, owner?.uid], ["AgentTemplate", template.metadata.uid]);
    assert.match(pod.metadata?.labels?.["agentbox.dev/pod-spec-hash"] ?? "", /^[0-9a-f]{16}$/);
    assert.equal(pod.metadata?.labels?.["agentbox.dev/session"], undefined);
    const stubs = await cluster.core.readNamespacedSecret({ name: `${pod.metadata!.name}-stubs`, namespace: ns });
    assert.equal(stubs.metadata?.ownerReferences?.[0]?.uid, pod.metadata?.uid, "the stub Secret goes with its pod");
    assert.ok(!JSON.stringify(pod).includes("e2e-warm-REAL"), "the real value reached a warm pod's spec");
  }
  const hashes = new Set(pods.map((p) => p.metadata?.labels?.["agentbox.dev/pod-spec-hash"]));
  assert.equal(hashes.size, 1, "both warm pods come from the same spec");
});

test("sessions applied at once: those building the template's pod adopt distinct warm pods; one overriding the command gets a cold pod; the pool refills", async () => {
  await Promise.all([
    createSession(cluster, ns, "warm-a", { templateRef: { name: TEMPLATE }, lifecycle: { ttlSeconds: 3600 } }),
    createSession(cluster, ns, "warm-b", { templateRef: { name: TEMPLATE }, access: { users: ["alice"] } }),
    createSession(cluster, ns, "cold-c", { templateRef: { name: TEMPLATE }, agent: { command: ["sh", "-c", "sleep 3600"] } }),
  ]);
  const running = async (name: string) => waitForSession(cluster, ns, name, "Running", (s) => s.status?.phase === "Running", 180_000);
  const [a, b, c] = await Promise.all([running("warm-a"), running("warm-b"), running("cold-c")]);
  assert.ok(warmNames.includes(a.status!.podName!), `warm-a runs in ${a.status?.podName}, not a warm pod (${warmNames.join(", ")})`);
  assert.ok(warmNames.includes(b.status!.podName!), `warm-b runs in ${b.status?.podName}, not a warm pod`);
  assert.notEqual(a.status!.podName, b.status!.podName, "two sessions share a pod");
  assert.equal(c.status!.podName, "cold-c", "a session overriding the command took a warm pod");

  for (const s of [a, b]) {
    const podName = s.status!.podName!;
    const pod = await cluster.core.readNamespacedPod({ name: podName, namespace: ns });
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
    assert.deepEqual([owner?.kind, owner?.uid], ["AgentSession", s.metadata.uid]);
    assert.equal(pod.metadata?.labels?.["agentbox.dev/session"], s.metadata.name);
    assert.equal(pod.metadata?.labels?.["agentbox.dev/warm-pool"], undefined, "an adopted pod still offers itself to the pool");
    // The objects the pod mounts move to the session right after its status says Running.
    const want = [`NetworkPolicy/${podName}-egress`, `Pod/${podName}`, `Secret/${podName}-sidecar`, `Secret/${podName}-stubs`].sort();
    const owned = await waitFor(`${s.metadata.name} owns the adopted pod's objects`, async () => {
      const o = await ownedObjects(cluster, ns, s.metadata.name);
      return o.length === want.length ? o : undefined;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(owned, want);
    for (const name of [`${podName}-stubs`, `${podName}-sidecar`]) {
      const secret = await cluster.core.readNamespacedSecret({ name, namespace: ns });
      assert.equal(secret.metadata?.ownerReferences?.find((r) => r.controller)?.uid, s.metadata.uid, `${name} is not the session's`);
    }
    const events = await cluster.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${s.metadata.name},reason=WarmPodAdopted` });
    assert.equal(events.items.length, 1, `no WarmPodAdopted event for ${s.metadata.name}`);
    assert.match(events.items[0]!.message ?? "", new RegExp(podName));
    // The session's clock starts with the session, not with the warm pod's agent.
    const session = (await readSession(cluster, ns, s.metadata.name)) as { metadata: { creationTimestamp?: string }; status?: { startTime?: string } };
    assert.ok(Date.parse(session.status!.startTime!) >= Date.parse(session.metadata.creationTimestamp!), "startTime is before the session existed");
  }

  const refilled = await waitForReadyPool(2, "the pool refilled to 2 Ready warm pods");
  for (const p of refilled) assert.ok(!warmNames.includes(p.metadata!.name!), `adopted pod ${p.metadata?.name} is back in the pool`);
  const metrics = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();
  assert.match(metrics, /^agentbox_warm_pool_adoptions_total\{result="adopted"\} 2$/m);
  assert.match(metrics, /^agentbox_warm_pool_adoptions_total\{result="cold"\} 1$/m);
  assert.match(metrics, /^agentbox_warm_pods_ready 2$/m);
  warmNames = refilled.map((p) => p.metadata!.name!);
});

test("deleting a session removes its adopted pod and the objects it mounted", async () => {
  const s = await readSession(cluster, ns, "warm-a");
  const podName = s!.status!.podName!;
  await deleteSession(cluster, ns, "warm-a");
  await waitFor("the adopted pod and its objects gone", async () => ((await ownedObjects(cluster, ns, "warm-a")).length === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });
  await assert.rejects(cluster.core.readNamespacedSecret({ name: `${podName}-stubs`, namespace: ns }), (e: unknown) => (e as { code?: number }).code === 404);
  assert.equal((await warmPods()).length, 2, "deleting a session touched the pool");
});

test("size 0 empties the pool; deleting the template removes its warm pods: no orphan Secret or NetworkPolicy", async () => {
  await setPoolSize(0);
  await waitFor("no warm pod, Secret or NetworkPolicy left at size 0", async () => ((await poolObjects()).length === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });
  await setPoolSize(1);
  await waitFor("one warm pod again", async () => ((await warmPods()).length === 1 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  await customApi(cluster).deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agenttemplates", name: TEMPLATE });
  await waitFor("the deleted template's warm objects garbage-collected", async () => ((await poolObjects()).length === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });
  // The sessions that adopted from the pool keep their pods: they are theirs now.
  const b = await readSession(cluster, ns, "warm-b");
  const pod = await cluster.core.readNamespacedPod({ name: b!.status!.podName!, namespace: ns });
  assert.equal(pod.metadata?.deletionTimestamp, undefined, "the template's deletion took a session's adopted pod");
});

test("the API server refuses a warm pool on a template with a workspace claim or in Batch mode", async () => {
  for (const [label, extra] of [["storage", { workspace: { storage: { size: "1Gi" } } }], ["batch", { lifecycle: { mode: "Batch" } }]] as const) {
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentTemplate", metadata: { name: `bad-${label}` }, spec: { ...templateSpec(1), ...extra } };
    await assert.rejects(customApi(cluster).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agenttemplates", body }), (e: unknown) => {
      assert.match(String((e as { body?: unknown }).body ?? e), /warmPool\.size must be 0/);
      return true;
    }, label);
  }
});
