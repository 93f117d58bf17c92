// `npm run bench:start` (issue 5, acceptance 5): N sessions applied at once on the local cluster
// with images present, through the chart-installed platform. Per session: apply→Ready (phase
// Running) and apply→first terminal byte (connecting once Running; the first frame of the agent's output through the
// session API's terminal WebSocket, the path a browser and `agentbox attach` take). The agent
// prints a line every 100 ms, since output written before the terminal attached is not replayed:
// first-byte figures may be up to 100 ms late.
// A pod watch notes when each session's pod reaches each step (created, scheduled, capture
// init container ran, sidecar started, agent running, Ready), so the table shows where the
// seconds go. Writes JSON to test/bench/start/results.json and prints a table.
// Flags: --sessions N (20), --out FILE.
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
import { STEPS, watchTimeline, type Timeline } from "./timeline.js";

// Its own release, namespace and port: a concurrent `npm run test:e2e` installs agentbox-e2e.
const BENCH = { release: "agentbox-bench", systemNamespace: "agentbox-system-bench", nodePort: 30919, upstreamCa: false, agentRoles: false };
const SESSION_API_URL = `http://${NODE_ADDRESS}:${BENCH.nodePort}`;

const MARK = "agentbox-start-bench";

interface Sample {
  name: string;
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

async function measure(cluster: Cluster, namespace: string, name: string, token: string, timeline: Timeline): Promise<Sample> {
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
      spec: { agent: { image: SHELL_IMAGE, command: ["bash", "-c", `while :; do echo ${MARK}; sleep 0.1; done`], tty: true }, lifecycle: { mode: "Interactive" } },
    },
  });
  const ready = await waitFor(
    `session ${name} Running`,
    async () => {
      const s = (await custom.getNamespacedCustomObject({ group: "agentbox.dev", version: "v1alpha1", namespace, plural: "agentsessions", name })) as { status?: { phase?: string } };
      return s.status?.phase === "Running" ? Date.now() : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 100 },
  );
  // Viewers connect once the session runs, as the CLI and the web UI do: a viewer that connects
  // earlier waits out the session API's re-attach backoff (seen: up to ~100 s added).
  const firstByte = await firstTerminalByte(namespace, name, token, deadline);
  const seen = timeline.seen.get(name) ?? {};
  const podSteps = Object.fromEntries(STEPS.flatMap((step) => (seen[step] === undefined ? [] : [[step, seen[step] - start]])));
  return { name, readyMs: ready - start, firstByteMs: firstByte - start, podSteps };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: "string", default: "20" }, out: { type: "string", default: join(ROOT, "test/bench/start/results.json") } } });
  const count = Number(values.sessions);
  const cluster = connect();
  console.error("[bench:start] building/loading images and installing the chart");
  await loadImages();
  const namespace = await createNamespace(cluster, "bench-start");
  const platform = await installPlatform(cluster, namespace, BENCH);
  try {
    const token = await agentUserToken(cluster, namespace, "bench", true);
    console.error(`[bench:start] applying ${count} sessions at once in ${namespace}`);
    const timeline = await watchTimeline(cluster.kc, namespace);
    let samples: Sample[];
    try {
      samples = await Promise.all(Array.from({ length: count }, (_, i) => measure(cluster, namespace, `s${i}`, token, timeline)));
    } finally {
      timeline.stop();
    }
    const stats = (values: number[]): { p50: number; p95: number; max: number } => ({ p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) });
    const podSteps = Object.fromEntries(STEPS.map((step) => [step, stats(samples.flatMap((s) => s.podSteps[step] ?? []))]));
    const summary = {
      sessions: count,
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      cpus: cpus().length,
      applyToReadyMs: stats(samples.map((s) => s.readyMs)),
      applyToFirstTerminalByteMs: stats(samples.map((s) => s.firstByteMs)),
      applyToPodStepMs: podSteps,
      target: "p50 ≤ 3000 ms to the first terminal byte",
      samples,
    };
    await writeFile(values.out, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`sessions applied at once: ${count}; load average ${summary.loadAverage.join(" ")} on ${summary.cpus} CPUs`);
    console.log("apply →                        p50 ms   p95 ms   max ms");
    const rows: [string, { p50: number; p95: number; max: number }][] = [
      ...STEPS.map((step): [string, { p50: number; p95: number; max: number }] => [`  pod: ${step}`, podSteps[step]!]),
      ["Ready (session Running)", summary.applyToReadyMs],
      ["first terminal byte", summary.applyToFirstTerminalByteMs],
    ];
    // A step no status showed before the first byte (e.g. pod Ready, which waits on the sidecar's readiness probe) prints "-".
    const ms = (value: number): string => (Number.isFinite(value) ? String(value) : "-").padStart(7);
    for (const [label, m] of rows) console.log(`${label.padEnd(30)} ${ms(m.p50)}  ${ms(m.p95)}  ${ms(m.max)}`);
  } finally {
    await platform.uninstall();
    await deleteNamespaceAndWait(cluster, namespace, 300_000);
  }
}

await main();
