// `npm run bench:terminal-burst`: N terminals opened at once, each on its own session, through
// the session API's real cluster code paths (TokenReview, SubjectAccessReview, the custom-object
// store) against the loopback stand-in API server, which answers every REST call after
// --latency-ms (an API server under load; 100-500 ms per call was seen for twenty concurrent
// reviews on the shared cluster). Each session's upstream is a local PTY whose program prints a
// mark at once and then every 0.1 s, so a viewer's first byte is as soon as the session API is
// attached. Prints connect → first byte p50/p95 per round, the API calls one terminal cost, and
// the server's own split by stage (from its "terminal opened" log lines).
// --upstream ticker swaps the PTY for an in-process program that prints the same marks, so the
// figure is the session API's own cost without twenty Python relays starting on the same CPUs.
// Flags: --terminals N (20), --rounds R (3), --latency-ms MS (100), --upstream pty|ticker, --out FILE.
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { WebSocket } from "ws";
import { clusterBackend } from "../../../session-api/backends.js";
import { clusterAuthenticator } from "../../../session-api/auth/kubernetes.js";
import { startServer } from "../../../session-api/server.js";
import { localPtyFactory } from "../../../session-api/terminal/local-pty.js";
import type { Upstream, UpstreamEnd, UpstreamFactory } from "../../../session-api/terminal/upstream.js";
import { BEARER_PREFIX, SUBPROTOCOL } from "../../../session-api/terminal/protocol.js";
import { startFakeApiServer, TYPIST_TOKEN, type Recorded } from "../../integration/session-api/fake-apiserver.js";

const MARK = "agentbox-burst-mark";
// A mark every 0.1 s without forking a process per mark.
const PROGRAM = ["bash", "--norc", "-c", `while :; do echo ${MARK}; read -t 0.1 -u 3; done 3< <(exec sleep infinity)`];
const NAMESPACE = "burst";

const { values } = parseArgs({
  options: {
    terminals: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    "latency-ms": { type: "string", default: "100" },
    upstream: { type: "string", default: "pty" },
    out: { type: "string" },
  },
});
const terminals = Number(values.terminals);
const rounds = Number(values.rounds);
const latencyMs = Number(values["latency-ms"]);

/** An upstream whose program prints the mark at once and then every 0.1 s, in this process. */
const ticker: UpstreamFactory = () => {
  const data: Array<(chunk: Buffer) => void> = [];
  const ends: Array<(end: UpstreamEnd) => void> = [];
  const tick = (): void => {
    for (const listener of data) listener(Buffer.from(`${MARK}\r\n`));
  };
  const first = setImmediate(tick);
  const timer = setInterval(tick, 100);
  const upstream: Upstream = {
    write: () => undefined,
    resize: () => undefined,
    close: () => {
      clearImmediate(first);
      clearInterval(timer);
      for (const listener of ends) listener({ reason: "closed" });
    },
    onData: (listener) => data.push(listener),
    onEnd: (listener) => ends.push(listener),
  };
  return Promise.resolve(upstream);
};

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Resolves with ms from opening the socket to the first frame carrying the program's output. */
function firstByte(url: string, name: string): Promise<number> {
  const start = performance.now();
  const ws = new WebSocket(`${url.replace("http:", "ws:")}/api/v1/namespaces/${NAMESPACE}/sessions/${name}/terminal`, [SUBPROTOCOL, `${BEARER_PREFIX}${TYPIST_TOKEN}`], { origin: url });
  return new Promise<number>((resolve, reject) => {
    ws.on("message", (data: Buffer) => {
      if (!data.toString("utf8").includes(MARK)) return;
      resolve(performance.now() - start);
      ws.close();
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`terminal ${name} refused: HTTP ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

function apiCalls(requests: readonly Recorded[]): Record<string, number> {
  const kind = (r: Recorded): string => {
    if (r.method === "UPGRADE") return "attach";
    if (r.url.includes("tokenreviews")) return "tokenreview";
    if (r.url.includes("subjectaccessreviews")) return "subjectaccessreview";
    return `${r.method} ${r.url.includes("agentsessions") ? "session" : "other"}`;
  };
  const counts: Record<string, number> = {};
  for (const r of requests) counts[kind(r)] = (counts[kind(r)] ?? 0) + 1;
  return counts;
}

// The server's "terminal opened" lines carry per-stage ms; collected from its log stream.
const stages: Record<string, number[]> = {};
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.includes('"stagesMs"')) continue;
      const parsed = JSON.parse(line) as { stagesMs: Record<string, number> };
      for (const [stage, ms] of Object.entries(parsed.stagesMs)) (stages[stage] ??= []).push(ms);
    }
    done();
  },
});

const fake = await startFakeApiServer();
fake.latencyMs = latencyMs;
const kc = fake.kubeConfig();
const backend = clusterBackend(kc);
if (values.upstream !== "pty" && values.upstream !== "ticker") throw new Error(`--upstream must be pty or ticker, not ${values.upstream}`);
const local = values.upstream === "pty" ? localPtyFactory({ command: PROGRAM }) : ticker;
const server = await startServer({
  ...backend,
  authenticator: clusterAuthenticator(kc),
  upstreamFor: () => local,
  log: pino({ level: "info" }, logSink),
  allowedOrigins: [],
  webUi: false,
  hub: { lingerMs: 50 },
}, 0);

const loadAverage = loadavg();
const results: { round: number; p50: number; p95: number; max: number }[] = [];
let calls: Record<string, number> = {};
try {
  for (let round = 0; round < rounds; round++) {
    const names = Array.from({ length: terminals }, (_, i) => `r${round}-t${i}`);
    for (const name of names) {
      fake.objects.set(`agentsessions/${NAMESPACE}/${name}`, {
        apiVersion: "agentbox.dev/v1alpha1",
        kind: "AgentSession",
        metadata: { name, namespace: NAMESPACE, uid: `uid-${name}`, generation: 1 },
        spec: { agent: { image: "local" } },
        status: { phase: "Running", podName: name },
      });
    }
    const before = fake.requests.length;
    const times = (await Promise.all(names.map((name) => firstByte(server.url, name)))).sort((a, b) => a - b);
    calls = apiCalls(fake.requests.slice(before));
    results.push({ round, p50: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1] ?? Number.NaN });
  }
} finally {
  await server.close();
  await fake.close();
}

const loadAverageEnd = loadavg();
const round = (n: number): number => Math.round(n);
console.log(`${terminals} terminals at once (${values.upstream} upstream), API latency ${latencyMs} ms per REST call; load average ${loadAverage.map((l) => l.toFixed(2)).join(" ")} -> ${loadAverageEnd.map((l) => l.toFixed(2)).join(" ")}`);
for (const r of results) console.log(`round ${r.round}: connect -> first byte p50 ${round(r.p50)} ms, p95 ${round(r.p95)} ms, max ${round(r.max)} ms`);
console.log(`API calls per terminal (last round): ${Object.entries(calls).map(([k, v]) => `${k} ${(v / terminals).toFixed(2)}`).join(", ")}`);
const stageStats = Object.fromEntries(Object.entries(stages).map(([stage, list]) => {
  const sorted = [...list].sort((a, b) => a - b);
  return [stage, { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)) }];
}));
for (const [stage, s] of Object.entries(stageStats)) console.log(`  server stage ${stage.padEnd(14)} p50 ${s.p50} ms, p95 ${s.p95} ms`);
const out = values.out ?? join(import.meta.dirname, "results", `burst-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
await writeFile(out, `${JSON.stringify({ terminals, upstream: values.upstream, latencyMs, loadAverage, loadAverageEnd, rounds: results, apiCallsPerTerminal: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v / terminals])), serverStagesMs: stageStats }, null, 2)}\n`);
console.log(`written to ${out}`);
