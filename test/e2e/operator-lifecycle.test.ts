// Acceptance 2 (lifecycle part): the operator, run in-process against the cluster, turns
// sessions into pods and back. Steps that need pods to actually run are skipped, saying so,
// when the cluster has no Ready node.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { waitFor } from "../support/wait.js";
import { mergePatch } from "../../operator/kube.js";
import type { RunningOperator } from "../../operator/main.js";
import { condition, createSession, customApi, deleteSession, GROUP, hasReadyNode, installCrds, ownedObjects, PLURAL, readSession, runOperator, VERSION, waitForSession } from "./operator-support.js";

let cluster: Cluster;
let ns: string;
let operator: RunningOperator;
let podsRun = false;

before(async () => {
  cluster = connect();
  await installCrds(cluster);
  ns = await createNamespace(cluster, "op-life");
  podsRun = await hasReadyNode(cluster);
  operator = await runOperator(cluster, ns);
});
after(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(cluster, ns);
});

const needsPods = (t: TestContext): boolean => {
  if (!podsRun) t.skip("the cluster has no Ready node: pods are created but never run");
  return podsRun;
};

const cred = { name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.com"], source: { secretKeyRef: { name: "anthropic-real", key: "api_key" } } };
const REAL = "sk-ant-api03-" + "e2e-REAL-VALUE-never-in-the-pod";

test("create: every object exists, owned by the session; the pod starts its sidecar first", async (t) => {
  await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "anthropic-real" }, stringData: { api_key: REAL } } });
  await createSession(cluster, ns, "create", { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] }, credentials: [cred] });
  const objects = await waitFor("the session's objects", async () => {
    const o = await ownedObjects(cluster, ns, "create");
    return o.length === 4 ? o : undefined;
  });
  assert.deepEqual(objects, ["NetworkPolicy/create-egress", "Pod/create", "Secret/create-sidecar", "Secret/create-stubs"]);
  const pod = await cluster.core.readNamespacedPod({ name: "create", namespace: ns });
  const session = await readSession(cluster, ns, "create");
  assert.equal(pod.metadata?.ownerReferences?.[0]?.uid, session!.metadata.uid);
  assert.deepEqual(pod.spec?.initContainers?.map((c) => c.name), ["egress-capture", "sidecar"]);
  assert.ok(!JSON.stringify(pod).includes(REAL), "the real value reached the pod spec");
  if (!needsPods(t)) return;
  const running = await waitForSession(cluster, ns, "create", "Running", (s) => s.status?.phase === "Running", 120_000);
  assert.equal(condition(running, "Ready")?.status, "True");
  assert.equal(condition(running, "CredentialsResolved")?.reason, "SidecarStarted");
  const live = await cluster.core.readNamespacedPod({ name: "create", namespace: ns });
  const sidecarStart = live.status?.initContainerStatuses?.find((c) => c.name === "sidecar")?.state?.running?.startedAt;
  const agentStart = live.status?.containerStatuses?.find((c) => c.name === "agent")?.state?.running?.startedAt;
  assert.ok(sidecarStart && agentStart && new Date(sidecarStart).getTime() <= new Date(agentStart).getTime(), "the sidecar started after the agent");
});

test("edit: the objects and the status converge on the new generation", async (t) => {
  const before = await cluster.core.readNamespacedPod({ name: "create", namespace: ns });
  await customApi(cluster).patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "create", body: { spec: { egress: { allow: ["example.com"] } } } }, mergePatch);
  await waitForSession(cluster, ns, "create", "observedGeneration 2", (s) => s.status?.observedGeneration === 2);
  await waitFor("the sidecar config to list example.com", async () => {
    const secret = await cluster.core.readNamespacedSecret({ name: "create-sidecar", namespace: ns });
    return Buffer.from(secret.data?.["config.json"] ?? "", "base64").toString().includes("example.com") ? true : undefined;
  });
  if (!needsPods(t)) return;
  await waitFor("a replacement pod with the new spec", async () => {
    const pod = await cluster.core.readNamespacedPod({ name: "create", namespace: ns }).catch(() => undefined);
    return pod && pod.metadata?.uid !== before.metadata?.uid ? pod : undefined;
  }, { timeoutMs: 120_000 });
  await waitForSession(cluster, ns, "create", "Running again", (s) => s.status?.phase === "Running", 120_000);
});

test("delete: nothing the session owned remains", async () => {
  await deleteSession(cluster, ns, "create");
  await waitFor("no objects left", async () => ((await ownedObjects(cluster, ns, "create")).length === 0 ? true : undefined), { timeoutMs: 90_000 });
});

test("a missing template gives TemplateNotFound, then the session proceeds once it exists", async () => {
  await createSession(cluster, ns, "templated", { templateRef: { name: "shell" } });
  const s = await waitForSession(cluster, ns, "templated", "TemplateNotFound", (x) => condition(x, "TemplateResolved")?.reason === "TemplateNotFound");
  assert.equal(s.status?.phase, "Pending");
  assert.match(condition(s, "TemplateResolved")!.message, /AgentTemplate shell not found/);
  assert.deepEqual(await ownedObjects(cluster, ns, "templated"), []);
  await customApi(cluster).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agenttemplates", body: { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentTemplate", metadata: { name: "shell" }, spec: { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] }, locked: ["agent.image"] } } });
  await waitForSession(cluster, ns, "templated", "TemplateFound", (x) => condition(x, "TemplateResolved")?.reason === "TemplateFound");
  await waitFor("the templated pod", () => cluster.core.readNamespacedPod({ name: "templated", namespace: ns }));
  await deleteSession(cluster, ns, "templated");
});

test("a Batch session whose agent exits 3 ends Failed with exit code 3 and is deleted after its TTL", async (t) => {
  if (!needsPods(t)) return;
  await createSession(cluster, ns, "batch", { agent: { image: SHELL_IMAGE, command: ["sh", "-c", "exit 3"] }, lifecycle: { mode: "Batch", ttlSecondsAfterFinished: 5 } });
  const done = await waitForSession(cluster, ns, "batch", "Failed", (s) => s.status?.phase === "Failed", 120_000);
  assert.equal(done.status?.exitCode, 3);
  await waitFor("the finished session to be deleted", async () => ((await readSession(cluster, ns, "batch")) ? undefined : true), { timeoutMs: 60_000 });
  await waitFor("its pod to be collected", async () => ((await ownedObjects(cluster, ns, "batch")).length === 0 ? true : undefined), { timeoutMs: 60_000 });
});

test("ttlSeconds expires a running session: pod removed, phase Expired", async (t) => {
  if (!needsPods(t)) return;
  await createSession(cluster, ns, "ttl", { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] }, lifecycle: { ttlSeconds: 5 } });
  const s = await waitForSession(cluster, ns, "ttl", "Expired", (x) => x.status?.phase === "Expired", 120_000);
  assert.match(s.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /ttlSeconds/);
  await waitFor("the expired pod to go", async () => ((await cluster.core.readNamespacedPod({ name: "ttl", namespace: ns }).catch(() => undefined)) ? undefined : true), { timeoutMs: 60_000 });
});

test("idleTimeoutSeconds expires a session without activity; recent activity keeps another alive", async (t) => {
  if (!needsPods(t)) return;
  const spec = { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] }, lifecycle: { idleTimeoutSeconds: 8 } };
  await createSession(cluster, ns, "idle", spec);
  await createSession(cluster, ns, "busy", spec);
  await waitForSession(cluster, ns, "busy", "Running", (s) => s.status?.phase === "Running", 120_000);
  const touch = setInterval(() => {
    customApi(cluster)
      .patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "busy", body: { metadata: { annotations: { "agentbox.dev/last-activity": new Date().toISOString() } } } }, mergePatch)
      .catch(() => undefined);
  }, 2000);
  try {
    const idle = await waitForSession(cluster, ns, "idle", "Expired", (s) => s.status?.phase === "Expired", 120_000);
    assert.match(idle.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /idleTimeoutSeconds/);
    assert.equal((await readSession(cluster, ns, "busy"))?.status?.phase, "Running");
  } finally {
    clearInterval(touch);
  }
});

