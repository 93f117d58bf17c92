// `npm run bench:operator`: 100 AgentSessions applied at once against the cluster in KUBECONFIG,
// with the operator as a separate process. Reports, side by side with a reference run of 100
// equivalent pods (and their sidecar config Secrets) created directly (no operator), apply→pod created and apply→Running p50/p95,
// the time until all 100 pods exist, and the operator's RSS. Figures go to stdout as a table and
// to .bench/operator.json, the operator's log to .bench/operator-bench-operator.log. The project is
// compiled first (tsc) so a stale dist/ is never measured.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as k8s from "@kubernetes/client-node";
import { desired } from "../../../operator/desired.js";
import { makeClients } from "../../../operator/kube.js";
import { AgentSession } from "../../../crds/agentsession.js";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "../../e2e/support/cluster.js";
import { createSession, customApi, GROUP, installCrds, PLURAL, VERSION } from "../../e2e/operator-support.js";
import { waitFor } from "../../support/wait.js";
import { bundle } from "../bundle.js";
import { peakMemory, stages, type SessionClock } from "./stages.js";

const N = Number(process.env.BENCH_SESSIONS ?? 100);
const RUNNING_TIMEOUT_MS = Number(process.env.BENCH_RUNNING_TIMEOUT_MS ?? 180_000);
const spec = { agent: { image: SHELL_IMAGE, command: ["sleep", "3600"] } };

interface Timings {
  created: Map<string, number>;
  running: Map<string, number>;
}

/**
 * Watches pods in `ns`, noting when each first appears and first reports Running. A watch the
 * API server ends (e.g. "too large resource version" under load) is re-established after a
 * list, so no pod is missed; a pod first seen in a list is timed at that moment (an upper bound).
 */
async function watchPods(cluster: Cluster, ns: string, t: Timings): Promise<() => void> {
  const watch = new k8s.Watch(cluster.kc);
  let stopped = false;
  let current: AbortController | undefined;
  const see = (pod: k8s.V1Pod): void => {
    const name = pod.metadata?.name ?? "";
    const now = performance.now();
    if (!name) return;
    if (!t.created.has(name)) t.created.set(name, now);
    if (pod.status?.phase === "Running" && !t.running.has(name)) t.running.set(name, now);
  };
  const start = async (): Promise<void> => {
    if (stopped) return;
    const list = await cluster.core.listNamespacedPod({ namespace: ns });
    list.items.forEach(see);
    current = await watch.watch(`/api/v1/namespaces/${ns}/pods`, { resourceVersion: list.metadata?.resourceVersion }, (type: string, pod: k8s.V1Pod) => {
      if (type !== "ERROR") see(pod);
    }, () => {
      if (!stopped) setTimeout(() => void start().catch(() => undefined), 200);
    });
  };
  await start();
  return () => {
    stopped = true;
    current?.abort();
  };
}

const pct = (xs: number[], p: number): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

interface RunResult {
  created: number;
  running: number;
  createdP50?: number;
  createdP95?: number;
  runningP50?: number;
  runningP95?: number;
  allCreatedMs?: number;
  /** Per session, epoch ms of the apply, its response and the pod's first watch event. */
  clocks: Map<string, SessionClock>;
}

async function measure(cluster: Cluster, ns: string, create: (name: string) => Promise<void>): Promise<RunResult> {
  const t: Timings = { created: new Map(), running: new Map() };
  const stop = await watchPods(cluster, ns, t);
  const names = Array.from({ length: N }, (_, i) => `b-${i}`);
  const applied = new Map<string, number>();
  const returned = new Map<string, number>();
  const start = performance.now();
  await Promise.all(names.map(async (n) => {
    applied.set(n, performance.now());
    await create(n);
    returned.set(n, performance.now());
  }));
  await waitFor(`${N} pods created`, () => (names.every((n) => t.created.has(n)) ? true : undefined), { timeoutMs: 120_000, intervalMs: 50 }).catch(() => undefined);
  const allCreated = names.every((n) => t.created.has(n)) ? Math.max(...names.map((n) => t.created.get(n)!)) - start : undefined;
  await waitFor(`${N} pods running`, () => (names.every((n) => t.running.has(n)) ? true : undefined), { timeoutMs: RUNNING_TIMEOUT_MS, intervalMs: 200 }).catch(() => undefined);
  stop();
  const lat = (m: Map<string, number>): number[] => names.filter((n) => m.has(n)).map((n) => m.get(n)! - applied.get(n)!);
  const c = lat(t.created);
  const r = lat(t.running);
  const epoch = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : performance.timeOrigin + ms);
  const clocks = new Map(names.map((n): [string, SessionClock] => {
    const createReturned = epoch(returned.get(n));
    const podSeen = epoch(t.created.get(n));
    return [n, { applied: epoch(applied.get(n))!, ...(createReturned !== undefined ? { createReturned } : {}), ...(podSeen !== undefined ? { podSeen } : {}) }];
  }));
  return {
    clocks,
    created: c.length,
    running: r.length,
    ...(c.length ? { createdP50: pct(c, 50)!, createdP95: pct(c, 95)! } : {}),
    ...(r.length ? { runningP50: pct(r, 50)!, runningP95: pct(r, 95)! } : {}),
    ...(allCreated !== undefined ? { allCreatedMs: allCreated } : {}),
  };
}

const OPERATOR_LOG = ".bench/operator-bench-operator.log";

// The operator as the platform image runs it: tsc output, bundled (see ../bundle.ts).
const OPERATOR_BUNDLE = ".bench/operator-main.mjs";

/** Compiles the project so the operator measured is the source checked out, never a stale dist/, and bundles it. */
function build(): void {
  const r = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`refusing to measure: tsc failed, so dist/ may not match the source. Fix the errors and run again:\n${r.stdout}${r.stderr}`);
  }
  mkdirSync(".bench", { recursive: true });
  bundle("dist/operator/main.js", OPERATOR_BUNDLE);
}

// The chart's NODE_OPTIONS (helm/agentbox/templates/operator-deployment.yaml, heapMegabytes 96):
// a small young generation (V8's default grows it to tens of MB while the modules load) and an
// old-space ceiling that makes V8 collect a burst's garbage instead of growing.
const NODE_FLAGS = (process.env.BENCH_OPERATOR_NODE_OPTIONS ?? "--max-semi-space-size=2 --max-old-space-size=96").split(" ").filter(Boolean);
// BENCH_OPERATOR_CPU_PROF=1 writes a V8 CPU profile of the operator to .bench/ (open it in Chrome DevTools).
const PROFILE = process.env.BENCH_OPERATOR_CPU_PROF === "1" ? ["--cpu-prof", "--cpu-prof-dir=.bench"] : [];

function spawnOperator(ns: string): ChildProcess {
  // The operator logs (pino, stdout) go to a file: its reasons for not creating a pod are there.
  const fd = openSync(OPERATOR_LOG, "w");
  try {
    return spawn(process.execPath, [...NODE_FLAGS, ...PROFILE, OPERATOR_BUNDLE], {
      // MALLOC_ARENA_MAX as the chart sets it (operator-deployment.yaml).
      env: { ...process.env, MALLOC_ARENA_MAX: "2", AGENTBOX_WATCH_NAMESPACE: ns, AGENTBOX_LEADER_ELECTION: "false", AGENTBOX_METRICS_ADDRESS: "127.0.0.1", AGENTBOX_METRICS_PORT: "0", LOG_LEVEL: process.env.BENCH_OPERATOR_LOG_LEVEL ?? "info" },
      stdio: ["ignore", fd, "inherit"],
    });
  } finally {
    closeSync(fd);
  }
}

/** Why the warm-up session has no pod: its status and the operator's last log lines. */
async function warmupDiagnosis(cluster: Cluster, ns: string): Promise<string> {
  const s = (await customApi(cluster).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "warmup" }).catch((e: unknown) => ({ error: String(e) }))) as { status?: unknown; error?: string };
  const log = readFileSync(OPERATOR_LOG, "utf8").trim().split("\n").slice(-15).join("\n");
  return `warm-up session status: ${JSON.stringify(s.status ?? s.error ?? "none")}\noperator log (${OPERATOR_LOG}, last lines):\n${log}`;
}

const rssMb = (pid: number): number | undefined => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
};

/** SIGTERM (a CPU profile is written on a clean exit), SIGKILL if it has not exited in 10 s. */
async function stopOperator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(t);
}

/** Deletes every pod in `ns` at once (no grace: `sleep` ignores SIGTERM) and waits until none is left. */
async function clearPods(cluster: Cluster, ns: string): Promise<void> {
  await customApi(cluster).deleteCollectionNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL });
  await cluster.core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
  await waitFor(`pods in ${ns} gone`, async () => ((await cluster.core.listNamespacedPod({ namespace: ns })).items.length === 0 ? true : undefined), { timeoutMs: 180_000, intervalMs: 500 });
}

async function main(): Promise<void> {
  build();
  mkdirSync(".bench", { recursive: true });
  const loadBefore = loadavg().map(round);
  const cluster = connect();
  await installCrds(cluster);
  const opNs = await createNamespace(cluster, "bench-op");
  const refNs = await createNamespace(cluster, "bench-ref");
  const child = spawnOperator(opNs);
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(child.pid!) ?? 0);
  }, 100);
  try {
    // Let the operator start and sync before the clock starts.
    await new Promise((r) => setTimeout(r, 1500));
    await waitFor("operator warm-up session", async () => {
      await createSession(cluster, opNs, "warmup", spec).catch(() => undefined);
      return (await cluster.core.readNamespacedPod({ name: "warmup", namespace: opNs }).catch(() => undefined)) ? true : undefined;
    }, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\n${await warmupDiagnosis(cluster, opNs)}`);
    });
    const idleRss = rssMb(child.pid!) ?? 0;
    // Both runs create through the operator's own client (one connection pool), so neither
    // column pays client-node's per-request TLS handshake on the creating side.
    // A connection per session, as before the operator's pool was bounded: the bench's own
    // applies must not queue behind each other on the client side.
    const fast = makeClients(cluster.kc, undefined, N);
    const viaOperator = await measure(cluster, opNs, async (n) => {
      await fast.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: opNs, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentSession", metadata: { name: n }, spec } });
    });
    const rssAfter = rssMb(child.pid!) ?? 0;
    clearInterval(sampler);
    // The reference gets the same empty node: the operator's 100 pods would otherwise still be
    // starting (and fill the node's pod limit) while the reference's are created.
    await stopOperator(child);
    await clearPods(cluster, opNs);
    // Reference: the very pod the operator would build, created directly.
    const reference = await measure(cluster, refNs, async (n) => {
      const session = AgentSession.parse({ apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", metadata: { name: n, namespace: refNs, uid: "00000000-0000-0000-0000-000000000000" }, spec });
      const built = desired({ session, template: undefined, stubs: {}, platform: { image: "agentbox/platform:dev", serviceAccountName: "default", tokenAudience: "vault", extraEgress: [] } });
      if (!built.ok) throw new Error(built.violations.join("; "));
      // No session exists to own them: the same Secret and Pod, created by a plain client.
      const { pod, sidecarConfig } = built.objects;
      delete pod.metadata!.ownerReferences;
      delete sidecarConfig.metadata!.ownerReferences;
      await Promise.all([fast.core.createNamespacedSecret({ namespace: refNs, body: sidecarConfig }), fast.core.createNamespacedPod({ namespace: refNs, body: pod })]);
    });
    // With BENCH_OPERATOR_LOG_LEVEL=debug the operator logs each stage and its memory every second.
    const operatorLog = readFileSync(OPERATOR_LOG, "utf8");
    const stageMs = Object.fromEntries([...stages(operatorLog, opNs, viaOperator.clocks)].map(([stage, xs]) => [stage, { p50: round(pct(xs, 50)), p95: round(pct(xs, 95)), n: xs.length }]));
    const memoryAtPeakMb = mapValues(peakMemory(operatorLog), (bytes) => round(bytes / 2 ** 20));
    const { clocks: _c1, ...viaOperatorFigures } = viaOperator;
    const { clocks: _c2, ...referenceFigures } = reference;
    const result = { sessions: N, operator: `node ${[...NODE_FLAGS, ...PROFILE].join(" ")} ${OPERATOR_BUNDLE} (dist/operator/main.js compiled and bundled by this run)`, loadAverage: { before: loadBefore, after: loadavg().map(round) }, viaOperator: viaOperatorFigures, reference: referenceFigures, operatorRssMb: { idle: round(idleRss), peak: round(peakRss), after: round(rssAfter) }, ...(memoryAtPeakMb ? { memoryAtPeakMb } : {}), ...(Object.keys(stageMs).length ? { operatorStagesMs: stageMs } : {}), targets: { createdP50Ms: 250, allCreatedMs: 15_000, rssMb: 150 } };
    writeFileSync(".bench/operator.json", `${JSON.stringify(result, null, 2)}\n`);
    printTable(result);
    if (memoryAtPeakMb) console.log(`operator memory at its highest RSS sample (MB): ${JSON.stringify(memoryAtPeakMb)}`);
    for (const [stage, f] of Object.entries(stageMs)) console.log(`${stage}: p50 ${fmt(f.p50)}, p95 ${fmt(f.p95)} (n=${f.n})`);
  } finally {
    clearInterval(sampler);
    child.kill("SIGTERM");
    await deleteNamespace(cluster, opNs);
    await deleteNamespace(cluster, refNs);
  }
}

const mapValues = <T extends object>(o: T | undefined, f: (v: number) => number | undefined): Record<string, number | undefined> | undefined =>
  o ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as number)])) : undefined;
const round = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x * 10) / 10);
const fmt = (x: number | undefined): string => (x === undefined ? "n/a" : `${Math.round(x)} ms`);

function printTable(r: { sessions: number; operator: string; loadAverage: { before: (number | undefined)[]; after: (number | undefined)[] }; viaOperator: Omit<RunResult, "clocks">; reference: Omit<RunResult, "clocks">; operatorRssMb: Record<string, number | undefined> }): void {
  const rows: [string, string, string, string][] = [
    ["apply→pod created p50", fmt(r.viaOperator.createdP50), fmt(r.reference.createdP50), "≤ 250 ms"],
    ["apply→pod created p95", fmt(r.viaOperator.createdP95), fmt(r.reference.createdP95), ""],
    [`all ${r.sessions} pods created`, fmt(r.viaOperator.allCreatedMs), fmt(r.reference.allCreatedMs), "≤ 15000 ms"],
    ["apply→Running p50", fmt(r.viaOperator.runningP50), fmt(r.reference.runningP50), ""],
    ["apply→Running p95", fmt(r.viaOperator.runningP95), fmt(r.reference.runningP95), ""],
    ["pods Running / created", `${r.viaOperator.running}/${r.viaOperator.created}`, `${r.reference.running}/${r.reference.created}`, ""],
    ["operator RSS idle / peak", `${r.operatorRssMb.idle} / ${r.operatorRssMb.peak} MB`, "", "≤ 150 MB"],
  ];
  console.log(`operator: ${r.operator}; load average (1/5/15 min) before ${r.loadAverage.before.join(" ")}, after ${r.loadAverage.after.join(" ")}\n`);
  console.log("| measure | via operator (AgentSession) | reference (Pod created directly) | target |");
  console.log("|---|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  console.log("\nwritten to .bench/operator.json");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
