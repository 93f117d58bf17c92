// Status a person reads: the effective mode (the Mode printer column), and a session stuck
// because the upstream-CA ConfigMap the operator mounts is missing says so, naming it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { waitFor } from "../support/wait.js";
import type { RunningOperator } from "../../operator/main.js";
import { condition, createSession, installCrds, runOperator, waitForSession } from "./operator-support.js";

let cluster: Cluster;
let ns: string;
let operator: RunningOperator;
const MISSING_CA = "agentbox-e2e-missing-upstream-ca";

before(async () => {
  cluster = connect();
  await installCrds(cluster);
  ns = await createNamespace(cluster, "op-status");
  operator = await runOperator(cluster, ns, { AGENTBOX_UPSTREAM_CA_CONFIGMAP: MISSING_CA });
});
after(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(cluster, ns);
});

test("status.mode is the effective mode: Batch when asked, Interactive by default", async () => {
  await createSession(cluster, ns, "batch", { agent: { image: SHELL_IMAGE, command: ["true"] }, lifecycle: { mode: "Batch" } });
  await createSession(cluster, ns, "interactive", { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] } });
  await waitForSession(cluster, ns, "batch", "mode Batch", (s) => (s.status as { mode?: string } | undefined)?.mode === "Batch");
  await waitForSession(cluster, ns, "interactive", "mode Interactive", (s) => (s.status as { mode?: string } | undefined)?.mode === "Interactive");
});

test("a missing upstream-CA ConfigMap gives Ready=False UpstreamCANotFound naming it, and a Warning event", async () => {
  const s = await waitForSession(cluster, ns, "interactive", "Ready reason UpstreamCANotFound", (x) => condition(x, "Ready")?.reason === "UpstreamCANotFound", 90_000);
  assert.equal(condition(s, "Ready")?.status, "False");
  assert.match(condition(s, "Ready")!.message, new RegExp(`ConfigMap ${MISSING_CA} .*not found in namespace ${ns}`));
  assert.equal(s.status?.phase, "Starting");
  await waitFor("a Warning event UpstreamCANotFound", async () => {
    const events = await cluster.core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=interactive" });
    return events.items.some((e) => e.type === "Warning" && e.reason === "UpstreamCANotFound") ? true : undefined;
  });
});
