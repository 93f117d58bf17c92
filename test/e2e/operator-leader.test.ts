// Acceptance 2 (replicas): two operators share a Lease; exactly one reconciles, and when it
// steps down the other takes over.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { waitFor } from "../support/wait.js";
import type { RunningOperator } from "../../operator/main.js";
import { createSession, installCrds, reconcileCount, runOperator, waitForSession } from "./operator-support.js";

let cluster: Cluster;
let ns: string;
const operators: RunningOperator[] = [];

before(async () => {
  cluster = connect();
  await installCrds(cluster);
  ns = await createNamespace(cluster, "op-leader");
});
after(async () => {
  for (const op of operators) await op.stop();
  if (ns) await deleteNamespace(cluster, ns);
});

test("with two replicas exactly one reconciles; the other takes over when it steps down", async () => {
  const env = (id: string): Record<string, string> => ({ AGENTBOX_LEADER_ELECTION: "true", POD_NAME: id, AGENTBOX_LEASE_DURATION_SECONDS: "4" });
  const a = await runOperator(cluster, ns, env("replica-a"));
  operators.push(a);
  await waitFor("replica-a to lead", () => (a.elector?.isLeader ? true : undefined));
  const b = await runOperator(cluster, ns, env("replica-b"));
  operators.push(b);
  const spec = { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] } };
  for (let i = 0; i < 5; i++) await createSession(cluster, ns, `s${i}`, spec);
  for (let i = 0; i < 5; i++) await waitForSession(cluster, ns, `s${i}`, "a status", (s) => s.status?.observedGeneration === 1);
  assert.ok((await reconcileCount(a.metricsPort)) > 0);
  assert.equal(await reconcileCount(b.metricsPort), 0, "the standby replica reconciled");
  assert.equal(b.elector?.isLeader, false);

  await a.stop(); // releases the Lease
  await waitFor("replica-b to lead", () => (b.elector?.isLeader ? true : undefined), { timeoutMs: 15_000 });
  await createSession(cluster, ns, "after-handover", spec);
  await waitForSession(cluster, ns, "after-handover", "a status from replica-b", (s) => s.status?.observedGeneration === 1);
  assert.ok((await reconcileCount(b.metricsPort)) > 0);
});
