// `npm run bench:start` (issue 5, acceptance 5): N sessions applied at once on the local cluster
// with images present, through the chart-installed platform, twice in one run, side by side:
// cold (inline spec, each session gets a new pod) and warm (sessions name an AgentTemplate whose
// warmPool.size is N, applied once the pool is full and Ready; the pool's fill time is printed
// too). Per session: apply→Ready (phase
// Running) and apply→first terminal byte (connecting once Running, or with --connect apply right after the apply; the first frame of the agent's output through the
// session API's terminal WebSocket, the path a browser and `agentbox attach` take). The agent
// prints a line every 100 ms, since output written before the terminal attached is not replayed:
// first-byte figures may be up to 100 ms late.
// A pod watch notes when each session's pod reaches each step (created, scheduled, capture
// init container ran, sidecar started, agent running, Ready), so the table shows where the
// seconds go. Writes JSON to test/bench/start/results.json and prints a table.
// Flags: --sessions N (20), --out FILE, --only cold|warm (both by default), --connect apply|running.
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { WebSocket } from "ws";
import { BEARER_PREFIX, SUBPROTOCOL } from "../../../session-api/terminal/protocol.js";
import { waitFor } from "../../support/wait.js";
import { connect, createNamespace, SHELL_IMAGE, type Cluster } from "../../e2e/support/cluster.js";
import { agentUserToken, deleteNamespaceAndWait, installPlatform, loadImages, NODE_ADDRESS, ROOT } from "../../e2e/support/platform.js";
import { STEPS, watchRunning, watchTimeline, type RunningWatch, type Timeline } from "./timeline.js";

// Its own release, namespace and port: a concurrent `npm run test:e2e` installs agentbox-e2e.
const BENCH = { release: "agentbox-bench", systemNamespace: "agentbox-system-bench", nodePort: 30919, upstreamCa: false, agentRoles: false };
const SESSION_API_URL = `http://${NODE_ADDRESS}:${BENCH.nodePort}`;

const MARK = "agentbox-start-bench";

// A mark every 0.1 s without a process per mark (read -t on a pipe nobody writes to waits the
// timeout): twenty warm agents forking `sleep` ten times a second each took the CPU the burst of
// sessions needed.
const AGENT = { image: SHELL_IMAGE, command: ["bash", "-c", `while :; do echo ${MARK}; read -t 0.1 -u 3; done 3< <(exec sleep infinity)`], tty: true };
const TEMPLATE = "bench-warm";

/**
 * When each viewer connects: once its session is Running (default), or right after its apply
 * (--connect apply), which the session API accepts since 2026-11-26. In a burst of twenty warm
 * sessions on this machine, connecting at the apply was slower (README: the terminals' reviews
 * compete with the burst for the API server), so the headline figure connects at Running.
 */
let connectAt: "apply" | "running" = "running";

interface Sample {
  name: string;
  /** The pod the session ran in: its own (cold) or a warm pod it adopted. */
  podName: string;
  readyMs: number;
  firstByteMs: number;
  /** ms from apply to each step of the session's pod (see timeline.ts). */
  podSteps: Record<string, number>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Resolves with the time of the first frame that carries the agent's output; retries until the terminal accepts. */
function firstTerminalByte(namespace: string, name: string, token: string, deadline: number): Promise<number> {
  const url = new URL(`/api/v1/namespaces/${namespace}/sessions/${name}/terminal`, SESSION_API_URL.replace("http:", "ws:"));
  return new Promise<number>((resolve, reject) => {
    const attempt = (): void => {
      if (Date.now() > deadline) {
        reject(new Error(`no terminal output from ${name} before the deadline`));
        return;
      }
      const ws = new WebSocket(url, [SUBPROTOCOL, `${BEARER_PREFIX}${token}`], { origin: SESSION_API_URL });
      let done = false;
      const retry = (): void => {
        if (done) return;
        done = true;
        ws.terminate();
        setTimeout(attempt, 100);
      };
      // Output arrives as binary frames, or inside a JSON snapshot for a viewer that joins late.
      ws.on("message", (data: Buffer) => {
        if (data.toString("utf8").includes(MARK)) {
          done = true;
          resolve(Date.now());
          ws.close();
        }
      });
      ws.on("unexpected-response", retry);
      ws.on("error", retry);
      ws.on("close", retry);
    };
    attempt();
  });
}

async function measure(cluster: Cluster, namespace: string, name: string, token: string, spec: Record<string, unknown>, watches: { timeline: Timeline; sessions: RunningWatch }): Promise<Sample> {
  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  const start = Date.now();
  const deadline = start + 300_000;
  await custom.createNamespacedCustomObject({
    group: "agentbox.dev",
    version: "v1alpha1",
    namespace,
    plural: "agentsessions",
    body: {
      apiVersion: "agentbox.dev/v1alpha1",
      kind: "AgentSession",
      metadata: { name },
      spec,
    },
  });
  // With --connect apply the viewer connects right after the apply, as `agentbox attach` and the
  // web UI may: the session API checks it at once, says the session is starting, and attaches the
  // moment a watch sees it Running (until-settled.ts).
  const early = connectAt === "apply" ? firstTerminalByte(namespace, name, token, deadline) : undefined;
  // Awaited below; this only keeps a failure while waiting for Running from leaving it unhandled.
  early?.catch(() => undefined);
  // The watch stamps the moment the Running status arrived; this only looks it up.
  const ready = await waitFor(`session ${name} Running`, () => watches.sessions.running.get(name), { timeoutMs: 300_000, intervalMs: 20 });
  const firstByte = early ?? firstTerminalByte(namespace, name, token, deadline);
  // An adopted warm pod went through its steps before the apply: they say nothing about it.
  const seen = ready.podName === name ? (watches.timeline.seen.get(name) ?? {}) : {};
  const podSteps = Object.fromEntries(STEPS.flatMap((step) => (seen[step] === undefined ? [] : [[step, seen[step] - start]])));
  return { name, podName: ready.podName, readyMs: ready.at - start, firstByteMs: (await firstByte) - start, podSteps };
}

interface Stats {
  p50: number;
  p95: number;
  max: number;
}
const stats = (values: number[]): Stats => ({ p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) });

interface RunSummary {
  sessions: number;
  loadAverageAfter: number[];
  applyToReadyMs: Stats;
  applyToFirstTerminalByteMs: Stats;
  applyToPodStepMs: Record<string, Stats>;
  samples: Sample[];
}

/** Applies `count` sessions at once and measures each; `spec` gives each session's spec. */
async function applyAtOnce(cluster: Cluster, namespace: string, token: string, prefix: string, count: number, spec: Record<string, unknown>): Promise<RunSummary> {
  const timeline = await watchTimeline(cluster.kc, namespace);
  const sessions = await watchRunning(cluster.kc, namespace);
  let samples: Sample[];
  try {
    samples = await Promise.all(Array.from({ length: count }, (_, i) => measure(cluster, namespace, `${prefix}${i}`, token, spec, { timeline, sessions })));
  } finally {
    timeline.stop();
    sessions.stop();
  }
  return {
    sessions: count,
    loadAverageAfter: loadavg().map((l) => Number(l.toFixed(2))),
    applyToReadyMs: stats(samples.map((s) => s.readyMs)),
    applyToFirstTerminalByteMs: stats(samples.map((s) => s.firstByteMs)),
    applyToPodStepMs: Object.fromEntries(STEPS.map((step) => [step, stats(samples.flatMap((s) => s.podSteps[step] ?? []))])),
    samples,
  };
}

/** Deletes the sessions and waits until no pod of theirs is left, so the next run starts on a quiet node. */
async function deleteSessions(cluster: Cluster, namespace: string, samples: readonly Sample[]): Promise<void> {
  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  await Promise.all(samples.map((s) => custom.deleteNamespacedCustomObject({ group: "agentbox.dev", version: "v1alpha1", namespace, plural: "agentsessions", name: s.name })));
  const pods = new Set(samples.map((s) => s.podName));
  await waitFor("the sessions' pods gone", async () => {
    const left = (await cluster.core.listNamespacedPod({ namespace })).items.filter((p) => pods.has(p.metadata?.name ?? ""));
    return left.length === 0 ? true : undefined;
  }, { timeoutMs: 300_000, intervalMs: 500 });
}

/** Creates the template with a pool of `size` and resolves with the ms until every warm pod is Ready. */
async function fillPool(cluster: Cluster, namespace: string, size: number): Promise<number> {
  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  const start = Date.now();
  await custom.createNamespacedCustomObject({
    group: "agentbox.dev",
    version: "v1alpha1",
    namespace,
    plural: "agenttemplates",
    body: { apiVersion: "agentbox.dev/v1alpha1", kind: "AgentTemplate", metadata: { name: TEMPLATE }, spec: { agent: AGENT, lifecycle: { mode: "Interactive" }, warmPool: { size } } },
  });
  return waitFor(`${size} warm pods Ready`, async () => {
    const pods = (await cluster.core.listNamespacedPod({ namespace, labelSelector: `agentbox.dev/warm-pool=${TEMPLATE}` })).items;
    const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    return ready.length >= size ? Date.now() - start : undefined;
  }, { timeoutMs: 600_000, intervalMs: 250 });
}

/**
 * The session API's own account of the run: the per-stage times it logs for each terminal
 * (`stagesMs`: authn, authz with the session read, attach, first output), p50 / max, and how many
 * upstreams ended (refused attaches included), read from its pods' logs before the uninstall.
 */
async function sessionApiStages(cluster: Cluster): Promise<Record<string, unknown>> {
  const pods = (await cluster.core.listNamespacedPod({ namespace: BENCH.systemNamespace, labelSelector: "app.kubernetes.io/component=session-api" })).items;
  const stages: Record<string, number[]> = {};
  let upstreamEnds = 0;
  for (const pod of pods) {
    const text = await cluster.core.readNamespacedPodLog({ namespace: BENCH.systemNamespace, name: pod.metadata?.name ?? "" });
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      const record = JSON.parse(line) as { msg?: string; stagesMs?: Record<string, number> };
      if (record.msg === "terminal upstream ended") upstreamEnds++;
      for (const [stage, ms] of Object.entries(record.stagesMs ?? {})) (stages[stage] ??= []).push(ms);
    }
  }
  return {
    pods: pods.length,
    upstreamEnds,
    stagesMs: Object.fromEntries(Object.entries(stages).map(([stage, values]) => [stage, { n: values.length, p50: percentile(values, 50), max: Math.max(...values) }])),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: "string", default: "20" }, out: { type: "string", default: join(ROOT, "test/bench/start/results.json") }, only: { type: "string" }, connect: { type: "string", default: "running" } } });
  if (values.connect !== "apply" && values.connect !== "running") throw new Error(`--connect must be apply or running, not ${values.connect}`);
  connectAt = values.connect;
  if (values.only !== undefined && values.only !== "cold" && values.only !== "warm") throw new Error(`--only must be cold or warm, not ${values.only}`);
  const count = Number(values.sessions);
  const cluster = connect();
  console.error("[bench:start] building/loading images and installing the chart");
  await loadImages();
  const namespace = await createNamespace(cluster, "bench-start");
  const platform = await installPlatform(cluster, namespace, BENCH);
  try {
    const token = await agentUserToken(cluster, namespace, "bench", true);
    const loadAverageBefore = loadavg().map((l) => Number(l.toFixed(2)));
    let cold: RunSummary | undefined;
    let warm: (RunSummary & { poolFillMs: number; adopted: number }) | undefined;
    if (values.only !== "warm") {
      console.error(`[bench:start] cold: applying ${count} sessions with an inline spec at once in ${namespace}`);
      cold = await applyAtOnce(cluster, namespace, token, "c", count, { agent: AGENT, lifecycle: { mode: "Interactive" } });
      await deleteSessions(cluster, namespace, cold.samples);
    }
    if (values.only !== "cold") {
      console.error(`[bench:start] warm: filling a pool of ${count} for template ${TEMPLATE}`);
      const poolFillMs = await fillPool(cluster, namespace, count);
      console.error(`[bench:start] warm: pool Ready after ${poolFillMs} ms; applying ${count} sessions naming the template at once`);
      const run = await applyAtOnce(cluster, namespace, token, "w", count, { templateRef: { name: TEMPLATE } });
      warm = { ...run, poolFillMs, adopted: run.samples.filter((s) => s.podName !== s.name).length };
    }
    // Cumulative over the run (cold, then warm): read once both are done.
    const sessionApi = await sessionApiStages(cluster).catch((err: unknown) => ({ error: String(err) }));
    console.log(`session API stages (ms, p50 / max over the run's terminals): ${JSON.stringify(sessionApi)}`);
    const summary = { sessions: count, cpus: cpus().length, loadAverageBefore, target: "p50 ≤ 3000 ms to the first terminal byte", connectAt, cold, warm, sessionApi };
    await writeFile(values.out, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`sessions applied at once: ${count} per run; load average before ${loadAverageBefore.join(" ")}, after cold ${cold?.loadAverageAfter.join(" ") ?? "-"}, after warm ${warm?.loadAverageAfter.join(" ") ?? "-"} on ${summary.cpus} CPUs`);
    if (warm) console.log(`warm pool of ${count}: filled (all Ready) in ${warm.poolFillMs} ms; ${warm.adopted}/${count} sessions adopted a warm pod`);
    console.log("apply →                          cold p50   p95   max  |  warm p50   p95   max   (ms)");
    const none: Stats = { p50: Number.NaN, p95: Number.NaN, max: Number.NaN };
    const rows: [string, Stats, Stats][] = [
      ...STEPS.map((step): [string, Stats, Stats] => [`  pod: ${step}`, cold?.applyToPodStepMs[step] ?? none, warm?.applyToPodStepMs[step] ?? none]),
      ["Ready (session Running)", cold?.applyToReadyMs ?? none, warm?.applyToReadyMs ?? none],
      ["first terminal byte", cold?.applyToFirstTerminalByteMs ?? none, warm?.applyToFirstTerminalByteMs ?? none],
    ];
    // A step no status showed after the apply (a warm pod's, or pod Ready before the first byte) prints "-".
    const ms = (value: number): string => (Number.isFinite(value) ? String(value) : "-").padStart(6);
    const cols = (m: Stats): string => `${ms(m.p50)}${ms(m.p95)}${ms(m.max)}`;
    for (const [label, c, w] of rows) console.log(`${label.padEnd(30)} ${cols(c)}  |  ${cols(w)}`);
  } finally {
    await platform.uninstall();
    await deleteNamespaceAndWait(cluster, namespace, 300_000);
  }
}

await main();
