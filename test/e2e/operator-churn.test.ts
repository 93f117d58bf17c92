// Acceptance 2 (crash safety): 50 sessions are created and half deleted while the operator, a
// real child process, is SIGKILLed at random points; a last operator must converge with every
// live session complete and no object left without a live owner.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { waitFor } from "../support/wait.js";
import { createSession, customApi, deleteSession, GROUP, installCrds, ownedObjects, PLURAL, VERSION } from "./operator-support.js";

let cluster: Cluster;
let ns: string;
let child: ChildProcess | undefined;

// Every operator instance appends its log here, so a failure can be traced to what it did.
let logPath = "";

const spawnOperator = (): ChildProcess => {
  const fd = openSync(logPath, "a");
  try {
    return spawn(process.execPath, ["--import", "tsx", "operator/main.ts"], {
      env: { ...process.env, AGENTBOX_WATCH_NAMESPACE: ns, AGENTBOX_LEADER_ELECTION: "false", AGENTBOX_METRICS_ADDRESS: "127.0.0.1", AGENTBOX_METRICS_PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", fd, "inherit"],
    });
  } finally {
    closeSync(fd);
  }
};

const kill = async (): Promise<void> => {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null) return;
  const exited = new Promise((resolve) => c.once("exit", resolve));
  c.kill("SIGKILL");
  await exited;
};

before(async () => {
  cluster = connect();
  await installCrds(cluster);
  ns = await createNamespace(cluster, "op-churn");
  // The credential's Secret exists: the operator holds a pod whose Secret it cannot check yet.
  await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "tok-real" }, stringData: { k: "churn-value" } } });
  logPath = join(tmpdir(), `${ns}-operator.log`);
});
after(async () => {
  await kill();
  if (ns) await deleteNamespace(cluster, ns);
});

test("killing the operator at random points during a create/delete churn of 50 sessions still converges with no orphan", async () => {
  const spec = {
    agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] },
    credentials: [{ name: "tok", env: "TOKEN", hosts: ["api.example.com"], source: { secretKeyRef: { name: "tok-real", key: "k" } } }],
  };
  const names = Array.from({ length: 50 }, (_, i) => `churn-${i}`);
  const doomed = new Set(names.filter((_, i) => i % 2 === 0));
  let kills = 0;
  // The killer: restart the operator and kill it again after a random 0.3–2.5 s, until told to stop.
  let churning = true;
  const killer = (async () => {
    while (churning) {
      child = spawnOperator();
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 2200));
      await kill();
      kills++;
    }
  })();
  for (const [i, name] of names.entries()) {
    await createSession(cluster, ns, name, spec);
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
  }
  for (const name of doomed) {
    await deleteSession(cluster, ns, name);
    if (Math.random() < 0.2) await new Promise((r) => setTimeout(r, 300));
  }
  // Keep killing for a while after the churn so that some kills land mid-reconcile.
  await new Promise((r) => setTimeout(r, 4000));
  churning = false;
  await killer;
  assert.ok(kills >= 3, `only ${kills} kills`);

  child = spawnOperator();
  const live = names.filter((n) => !doomed.has(n));
  let incomplete: string[] = [];
  await waitFor("every live session complete and reconciled", async () => {
    incomplete = [];
    for (const name of live) {
      const objects = await ownedObjects(cluster, ns, name);
      const s = (await customApi(cluster).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as { status?: { observedGeneration?: number; phase?: string } };
      if (objects.length !== 4 || s.status?.observedGeneration !== 1) incomplete.push(`${name}: ${s.status?.phase ?? "no status"}, objects ${objects.join(",")}`);
    }
    return incomplete.length === 0 ? true : undefined;
  }, { timeoutMs: 180_000, intervalMs: 1000 }).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}; incomplete: ${incomplete.join("; ")}; operator logs in ${logPath}`);
  });

  // No orphans: every agentbox object in the namespace is controlled by a session that exists.
  await waitFor("no object without a live owner", async () => {
    const sessions = (await customApi(cluster).listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })) as { items: { metadata: { uid: string } }[] };
    const uids = new Set(sessions.items.map((s) => s.metadata.uid));
    const labelSelector = "app.kubernetes.io/managed-by=agentbox";
    const net = cluster.kc.makeApiClient(k8s.NetworkingV1Api);
    const all = [
      ...(await cluster.core.listNamespacedPod({ namespace: ns, labelSelector })).items,
      ...(await cluster.core.listNamespacedSecret({ namespace: ns, labelSelector })).items,
      ...(await net.listNamespacedNetworkPolicy({ namespace: ns, labelSelector })).items,
    ];
    // Pods of deleted sessions may linger while terminating; anything else must be owned.
    const orphans = all.filter((o) => !o.metadata?.deletionTimestamp && !uids.has(o.metadata?.ownerReferences?.find((r) => r.controller)?.uid ?? ""));
    return orphans.length === 0 && sessions.items.length === live.length ? true : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1000 });
});
