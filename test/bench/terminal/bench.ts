// npm run bench:terminal [-- --cluster] — the terminal path against a reference, in one run.
// Local (default): a local PTY read directly vs the same kind of PTY through the session API.
// --cluster (needs the e2e cluster): one agent pod; `kubectl exec -it` into it (run on a local
// PTY, as a person would) vs the session API attached to it through pods/attach, with
// `kubectl attach -it` to the same agent as a second reference: it takes the runtime's attach path
// that the session API's shared terminal takes, so it shows what that path allows by itself.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { startLocalPty } from "../../../session-api/terminal/local-pty.js";
import { BENCH_TOKEN as TOKEN } from "./token.js";
import { judge, type Echo, type RunFigures } from "./targets.js";
const MB = 1 << 20;
const THROUGHPUT_BYTES = Number(process.env.BENCH_BYTES ?? 50 * MB);
// Smaller: through pods/attach, 2-byte lines run at about 0.5 MB/s (line-shape.ts).
const YES_BYTES = Number(process.env.BENCH_YES_BYTES ?? 10 * MB);
const ECHO_SAMPLES = Number(process.env.BENCH_ECHO_SAMPLES ?? 200);
const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 50);
// For profiling one part: BENCH_PARTS=throughput (comma-separated: throughput, yes, shell, echo, fanout).
// yes: the throughput row again with 2-byte lines (plain `yes`).
const PARTS = new Set((process.env.BENCH_PARTS ?? "throughput,yes,shell,echo,fanout").split(","));
// Extra node flags for the session API process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
// The cluster's own kubectl: the one on PATH may be another version (or a cloud SDK's dispatcher).
const CLUSTER_KUBECTL = "/var/cache/agentbox/k8s-v1.34.4/bin/kubectl";
const KUBECTL = process.env.KUBECTL ?? (existsSync(CLUSTER_KUBECTL) ? CLUSTER_KUBECTL : "kubectl");
const home = mkdtempSync(join(tmpdir(), "agentbox-bench-"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };

/** A byte stream with a terminal at the other end, whichever way it is reached. */
interface Stream {
  write(text: string): void;
  onData(listener: (chunk: Buffer) => void): void;
  close(): void;
  /** Snapshots received so far (session API only): a resync means the viewer skipped bytes. */
  snapshots?: () => number;
}

/** The session's shared terminal (pods/attach), or with `shell` a fresh shell in it (pods/exec). */
async function viaApi(url: string, namespace: string, session: string, endpoint: "terminal" | "shell" = "terminal"): Promise<Stream> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/api/v1/namespaces/${namespace}/sessions/${session}/${endpoint}`, ["agentbox.v1", `agentbox.bearer.${TOKEN}`]);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const listeners: Array<(chunk: Buffer) => void> = [];
  let snapshots = 0;
  ws.on("message", (data: Buffer, isBinary) => {
    // After a resync the screen arrives as a snapshot: what it shows counts as received.
    const bytes = isBinary ? data : snapshotData(data);
    if (!isBinary && bytes) snapshots++;
    if (bytes) for (const l of listeners) l(bytes);
  });
  return { write: (t) => ws.send(Buffer.from(t)), onData: (l) => listeners.push(l), close: () => ws.close(), snapshots: () => snapshots };
}

function snapshotData(text: Buffer): Buffer | undefined {
  const message = JSON.parse(text.toString()) as { type?: string; data?: string };
  return message.type === "snapshot" && message.data ? Buffer.from(message.data) : undefined;
}

/** Resolves when `marker` has gone by in the stream, with the bytes seen since the call. */
function waitFor(stream: Stream, marker: string, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let tail = "";
    let bytes = 0;
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`timed out waiting for ${marker}; the stream ended with ${JSON.stringify(tail.slice(-300))}`));
    }, timeoutMs);
    stream.onData((chunk) => {
      if (done) return;
      bytes += chunk.length;
      tail = (tail + chunk.toString("latin1")).slice(-(marker.length + 64 * 1024));
      if (tail.includes(marker)) {
        done = true;
        clearTimeout(timer);
        resolve(bytes);
      }
    });
  });
}

let markers = 0;
async function ready(stream: Stream): Promise<void> {
  const n = ++markers;
  const seen = waitFor(stream, `READY-${n + 1000}`);
  stream.write(`echo READY-$((${n}+1000))\r`);
  await seen;
}

/**
 * Output shapes for the throughput rows. Line length matters on the attach path: the runtime
 * writes an attached container's output to its CRI log as one record per line (line-shape.ts).
 */
const SHAPES = {
  /** 80-byte lines, about a terminal's width. */
  lines80: `yes ${"a".repeat(79)}`,
  /** Plain `yes`: 2-byte lines, the worst case for a per-line log. */
  yes: "yes",
} as const;
type Shape = keyof typeof SHAPES;

async function throughput(stream: Stream, shape: Shape = "lines80"): Promise<{ mbPerSec: number; bytes: number; seconds: number; resyncs?: number }> {
  await ready(stream);
  const snapshotsBefore = stream.snapshots?.();
  const end = waitFor(stream, "THROUGHPUT-2-END");
  const start = process.hrtime.bigint();
  stream.write(`${SHAPES[shape]} | head -c ${shape === "yes" ? YES_BYTES : THROUGHPUT_BYTES}; echo THROUGHPUT-$((1+1))-END\r`);
  const bytes = await end;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const resyncs = snapshotsBefore === undefined ? undefined : (stream.snapshots?.() ?? 0) - snapshotsBefore;
  return { mbPerSec: bytes / MB / seconds, bytes, seconds, ...(resyncs === undefined ? {} : { resyncs }) };
}

/** CPU time a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of the file, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Keystroke → echo round trips, with `cat` in the foreground so the tty echoes each byte. */
async function echo(stream: Stream, streaming: boolean): Promise<Echo> {
  await ready(stream);
  if (streaming) stream.write("while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done &\r");
  stream.write("cat\r");
  await new Promise((resolve) => setTimeout(resolve, 300));
  const letters = "bcdefghijklmnopqrstuvwxyz";
  const samples: number[] = [];
  let pending: { char: string; start: bigint; resolve: () => void } | undefined;
  let received = 0;
  stream.onData((chunk) => {
    received += chunk.length;
    if (pending && chunk.includes(pending.char)) {
      samples.push(Number(process.hrtime.bigint() - pending.start) / 1e6);
      const done = pending.resolve;
      pending = undefined;
      done();
    }
  });
  received = 0;
  const sampling = process.hrtime.bigint();
  for (let i = 0; i < ECHO_SAMPLES; i++) {
    const char = letters[i % letters.length] ?? "b";
    await new Promise<void>((resolve) => {
      pending = { char, start: process.hrtime.bigint(), resolve };
      stream.write(char);
    });
    if (i % 40 === 39) stream.write("\x15"); // kill the line so cat's buffer stays small
  }
  // How fast output came while sampling: a faster reader lets the loop write more ahead of each echo.
  const mbPerSec = received / MB / (Number(process.hrtime.bigint() - sampling) / 1e9);
  // ^C flushes the tty's input queue, so give the shell a moment to be back at its prompt.
  stream.write("\x03");
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (streaming) stream.write("kill %1\r");
  await ready(stream);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length, mbPerSec };
}

/** N viewers on one session with a timestamped stream: how far behind live each one gets. */
async function fanOut(url: string, namespace: string, session: string, typer: Stream): Promise<{ viewers: number; p50LagMs: number; maxLagMs: number; resyncs: number; bytesPerViewer: number }> {
  const viewers: Array<{ maxLag: number; bytes: number; stamps: number; snapshots: number; ws: WebSocket }> = [];
  for (let i = 0; i < VIEWERS; i++) {
    const ws = new WebSocket(`${url.replace("http", "ws")}/api/v1/namespaces/${namespace}/sessions/${session}/terminal?mode=view`, ["agentbox.v1", `agentbox.bearer.${TOKEN}`]);
    const viewer = { maxLag: 0, bytes: 0, stamps: 0, snapshots: 0, ws };
    ws.on("message", (data: Buffer, isBinary) => {
      let text: string;
      if (isBinary) text = data.toString("latin1");
      else {
        const message = JSON.parse(data.toString()) as { type?: string; data?: string };
        if (message.type !== "snapshot") return;
        viewer.snapshots++;
        text = message.data ?? "";
      }
      viewer.bytes += text.length;
      // The oldest stamp in what just arrived: how late the earliest of these bytes is.
      const at = text.indexOf("T1");
      const match = at >= 0 ? /^T(\d{16})/.exec(text.slice(at)) : null;
      if (match?.[1]) {
        viewer.stamps++;
        viewer.maxLag = Math.max(viewer.maxLag, Date.now() - Number(match[1]) / 1000);
      }
    });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    viewers.push(viewer);
  }
  await ready(typer);
  const end = waitFor(typer, "FANOUT-3-END");
  // 5 s of 1 KiB lines stamped with the time they were written (microseconds); node is in every agent image.
  const stamps = `const end=Date.now()+5000,x="x".repeat(1000);(function f(){if(Date.now()>end)return;process.stdout.write("T"+Date.now()*1000+" "+x+"\\n",()=>setTimeout(f,1))})()`;
  typer.write(`node -e '${stamps}'; echo FANOUT-$((1+2))-END\r`);
  await end;
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const v of viewers) v.ws.close();
  if (viewers.some((v) => v.stamps < 10)) throw new Error("a viewer saw under 10 time stamps: the stamp stream did not run");
  const lags = viewers.map((v) => v.maxLag);
  return {
    viewers: viewers.length,
    p50LagMs: percentile(lags, 50),
    maxLagMs: Math.max(...lags),
    // Every viewer gets one snapshot on joining; more mean it fell behind and was resynced.
    resyncs: viewers.reduce((n, v) => n + v.snapshots - 1, 0),
    bytesPerViewer: Math.round(viewers.reduce((a, v) => a + v.bytes, 0) / viewers.length),
  };
}

/** Throughput and echo through `kubectl attach`; detaches (ends kubectl, not the agent) after. */
async function viaKubectlAttach(attach: Stream): Promise<Record<string, unknown>> {
  try {
    const out: Record<string, unknown> = {};
    if (PARTS.has("throughput")) out.throughput = await throughput(attach);
    if (PARTS.has("yes")) out.throughputYes = await throughput(attach, "yes");
    if (PARTS.has("echo")) out.echoIdle = await echo(attach, false);
    if (PARTS.has("echo")) out.echoStreaming = await echo(attach, true);
    return out;
  } finally {
    attach.close();
  }
}

interface Target {
  /** The session API process, to read the CPU time it spends. */
  serverPid: number;
  reference: string;
  direct(): Stream;
  /** The runtime's attach path without the session API (cluster only). */
  attach?: () => Stream;
  url: string;
  namespace: string;
  session: string;
  close(): Promise<void>;
}

/** Keystroke round trips as the session API's upstream saw them (see server-child.ts), in order. */
const upstreamEchoes: number[] = [];

/** Starts the session API in its own process (see server-child.ts) and returns its URL. */
function serverProcess(mode: "local" | "cluster"): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...SERVER_NODE_ARGS, "--import", "tsx", join(import.meta.dirname, "server-child.ts"), mode], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", () => reject(new Error("the bench's session API process exited before listening")));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const message = JSON.parse(line) as { url?: string; upstreamEchoMs?: number };
      if (message.url) resolve({ url: message.url, child });
      if (message.upstreamEchoMs !== undefined) upstreamEchoes.push(message.upstreamEchoMs);
    });
  });
}

/** Echo through the session API, and how much of each round trip was spent beyond it. */
async function echoViaApi(stream: Stream, streaming: boolean): Promise<Echo & { beyondApi: Echo }> {
  const from = upstreamEchoes.length;
  const total = await echo(stream, streaming);
  // echo() ends with a marker round trip, so every probe line of its samples has arrived.
  const beyond = upstreamEchoes.slice(from);
  return { ...total, beyondApi: { p50: percentile(beyond, 50), p95: percentile(beyond, 95), samples: beyond.length } };
}

const stopProcess = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

async function localTarget(): Promise<Target> {
  const { url, child } = await serverProcess("local");
  return {
    serverPid: child.pid ?? 0,
    reference: "local PTY (reference)",
    direct: () => {
      const pty = startLocalPty({ command: ["sh"], env, cwd: home }, { cols: 120, rows: 40 });
      return { write: (t) => pty.write(t), onData: (l) => pty.onData(l), close: () => pty.close() };
    },
    url,
    namespace: "bench",
    session: "bench",
    close: () => stopProcess(child),
  };
}

async function clusterTarget(): Promise<Target> {
  const { connect, createNamespace, deleteNamespace, SHELL_IMAGE } = await import("../../e2e/support/cluster.js");
  const { installCrds, runOperator } = await import("../../e2e/operator-support.js");
  const { kubeSessionStore } = await import("../../../session-api/store/kube-store.js");
  const cluster = connect();
  await installCrds(cluster);
  const namespace = await createNamespace(cluster, "bench-term");
  const operator = await runOperator(cluster, namespace);
  const store = kubeSessionStore(cluster.kc);
  // Created as the bench's own kubeconfig user: the store's writes impersonate a signed-in person.
  const { CustomObjectsApi } = await import("@kubernetes/client-node");
  await cluster.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: "agentbox.dev",
    version: "v1alpha1",
    namespace,
    plural: "agentsessions",
    body: { apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", metadata: { name: "bench" }, spec: { agent: { image: SHELL_IMAGE, command: ["bash", "--norc", "-i"] } } },
  });
  const deadline = Date.now() + 180_000;
  let pod: string | undefined;
  while (!pod) {
    const session = await store.getSession(namespace, "bench");
    if (session?.status?.phase === "Running") pod = session.status.podName;
    else if (Date.now() > deadline) throw new Error("the bench session did not reach Running in 3 minutes");
    else await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const { url, child } = await serverProcess("cluster");
  const kubeconfig = process.env.KUBECONFIG ?? "/var/lib/agentbox/cluster/admin.kubeconfig";
  // On a local PTY, as a person would run it.
  const kubectl = (args: string[]): Stream => {
    const pty = startLocalPty({ command: [KUBECTL, "--kubeconfig", kubeconfig, ...args], env: { ...env, KUBECONFIG: kubeconfig } }, { cols: 120, rows: 40 });
    return { write: (t) => pty.write(t), onData: (l) => pty.onData(l), close: () => pty.close() };
  };
  return {
    serverPid: child.pid ?? 0,
    reference: "kubectl exec -it (reference)",
    direct: () => kubectl(["exec", "-it", "-n", namespace, pod, "-c", "agent", "--", "bash", "--norc", "-i"]),
    attach: () => kubectl(["attach", "-it", "-n", namespace, pod, "-c", "agent"]),
    url,
    namespace,
    session: "bench",
    close: async () => {
      await stopProcess(child);
      await operator.stop();
      await deleteNamespace(cluster, namespace);
    },
  };
}

async function main(): Promise<void> {
  const onCluster = process.argv.includes("--cluster");
  const target = onCluster ? await clusterTarget() : await localTarget();
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    mode: onCluster ? "cluster" : "local",
    reference: target.reference,
    ...(onCluster ? { kubectl: KUBECTL } : {}),
    node: process.version,
    // The figures only mean something next to how busy the machine was.
    loadAverage: loadavg(),
    cpus: cpus().length,
    throughputBytes: THROUGHPUT_BYTES,
    yesBytes: YES_BYTES,
    echoSamples: ECHO_SAMPLES,
  };
  try {
    const ref = target.direct();
    // Measured before the session API attaches: every attached client gets the container's
    // output, so while both were attached each would also carry the other's load.
    if (target.attach && (PARTS.has("throughput") || PARTS.has("yes") || PARTS.has("echo"))) results.kubectlAttach = await viaKubectlAttach(target.attach());
    const api = await viaApi(target.url, target.namespace, target.session);
    if (PARTS.has("throughput")) {
      const reference = await throughput(ref);
      const cpuBefore = cpuSeconds(target.serverPid);
      const sessionApi = await throughput(api);
      // All threads of the session API process (main and screen worker), user + system.
      results.throughput = { reference, sessionApi: { ...sessionApi, serverCpuSeconds: cpuSeconds(target.serverPid) - cpuBefore } };
    }
    if (PARTS.has("yes")) {
      const reference = await throughput(ref, "yes");
      const cpuBefore = cpuSeconds(target.serverPid);
      const sessionApi = await throughput(api, "yes");
      results.throughputYes = { reference, sessionApi: { ...sessionApi, serverCpuSeconds: cpuSeconds(target.serverPid) - cpuBefore } };
    }
    // The same 50 MB through a fresh shell (pods/exec, as kubectl exec does): attach reads the
    // agent's main process through the container runtime's log pipeline, exec does not.
    if (PARTS.has("shell")) {
      const shell = await viaApi(target.url, target.namespace, target.session, "shell");
      // Input before the exec stream is open is dropped: wait for the shell's first output (its
      // prompt: "$ ", or "# " for root as in local mode).
      await new Promise<void>((resolve) => shell.onData(() => resolve()));
      const cpuBefore = cpuSeconds(target.serverPid);
      const sessionApi = await throughput(shell);
      results.throughputShell = { sessionApi: { ...sessionApi, serverCpuSeconds: cpuSeconds(target.serverPid) - cpuBefore } };
      if (PARTS.has("echo")) results.echoShell = { idle: await echoViaApi(shell, false), streaming: await echoViaApi(shell, true) };
      shell.close();
    }
    if (PARTS.has("echo")) {
      results.echoIdle = { reference: await echo(ref, false), sessionApi: await echoViaApi(api, false) };
      results.echoStreaming = { reference: await echo(ref, true), sessionApi: await echoViaApi(api, true) };
    }
    if (PARTS.has("fanout")) results.fanOut = await fanOut(target.url, target.namespace, target.session, api);
    ref.close();
    api.close();
  } finally {
    await target.close();
  }
  results.loadAverageEnd = loadavg();
  results.targets = judge(results as RunFigures, onCluster ? "kubectl exec" : "the local PTY");
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `terminal-${results.mode as string}-${String(results.when).replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printTable(results);
  process.stdout.write("\n");
  for (const v of results.targets as ReturnType<typeof judge>) process.stdout.write(`${v.met ? "met   " : "MISSED"} ${v.target}: ${v.measured}\n`);
  process.stdout.write(`load average (1/5/15 min) at start ${(results.loadAverage as number[]).map((l) => l.toFixed(2)).join(" ")}, at end ${(results.loadAverageEnd as number[]).map((l) => l.toFixed(2)).join(" ")}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
}

function printTable(r: Record<string, unknown>): void {
  type Pair = { reference: Echo; sessionApi: Echo & { beyondApi?: Echo } };
  const t = r.throughput as { reference: { mbPerSec: number }; sessionApi: { mbPerSec: number; resyncs?: number; serverCpuSeconds: number } } | undefined;
  const ei = r.echoIdle as Pair | undefined;
  const es = r.echoStreaming as Pair | undefined;
  const f = r.fanOut as { viewers: number; p50LagMs: number; maxLagMs: number; resyncs: number } | undefined;
  const ms = (e: Echo): string => `${e.p50.toFixed(2)} / ${e.p95.toFixed(2)} ms${e.mbPerSec !== undefined && e.mbPerSec >= 0.1 ? ` at ${e.mbPerSec.toFixed(1)} MB/s` : ""}`;
  // The part of the round trip spent beyond the session API, as its upstream saw it.
  const split = (e: Echo & { beyondApi?: Echo }): string => (e.beyondApi ? `${ms(e)} (beyond API ${ms(e.beyondApi)})` : ms(e));
  const ka = r.kubectlAttach as RunFigures["kubectlAttach"];
  const attachCell = (e: Echo | undefined): string => (e ? ms(e) : "-");
  const rows = [["measure", String(r.reference), ka ? "kubectl attach -it (reference)" : "-", "through session API"]];
  const size = `${Number((THROUGHPUT_BYTES / MB).toFixed(1))} MB`;
  if (t) rows.push([`throughput ${size}, 80-byte lines`, `${t.reference.mbPerSec.toFixed(1)} MB/s`, ka?.throughput ? `${ka.throughput.mbPerSec.toFixed(1)} MB/s` : "-", `${t.sessionApi.mbPerSec.toFixed(1)} MB/s (${t.sessionApi.resyncs ?? 0} resyncs, server CPU ${t.sessionApi.serverCpuSeconds.toFixed(1)} s)`]);
  const y = r.throughputYes as typeof t;
  if (y) rows.push([`throughput ${Number((YES_BYTES / MB).toFixed(1))} MB, 2-byte lines (yes)`, `${y.reference.mbPerSec.toFixed(1)} MB/s`, ka?.throughputYes ? `${ka.throughputYes.mbPerSec.toFixed(1)} MB/s` : "-", `${y.sessionApi.mbPerSec.toFixed(1)} MB/s (${y.sessionApi.resyncs ?? 0} resyncs, server CPU ${y.sessionApi.serverCpuSeconds.toFixed(1)} s)`]);
  const ts = r.throughputShell as { sessionApi: { mbPerSec: number; resyncs?: number; serverCpuSeconds: number } } | undefined;
  if (ts) rows.push([`throughput ${size}, 80-byte lines, fresh shell (exec)`, "(same as above)", "-", `${ts.sessionApi.mbPerSec.toFixed(1)} MB/s (${ts.sessionApi.resyncs ?? 0} resyncs, server CPU ${ts.sessionApi.serverCpuSeconds.toFixed(1)} s)`]);
  if (ei) rows.push(["echo p50 / p95, idle", ms(ei.reference), attachCell(ka?.echoIdle), split(ei.sessionApi)]);
  if (es) rows.push(["echo p50 / p95, streaming", ms(es.reference), attachCell(ka?.echoStreaming), split(es.sessionApi)]);
  const eh = r.echoShell as { idle: Echo & { beyondApi?: Echo }; streaming: Echo & { beyondApi?: Echo } } | undefined;
  if (eh && ei && es) {
    rows.push(["echo p50 / p95, idle, fresh shell (exec)", ms(ei.reference), "-", split(eh.idle)]);
    rows.push(["echo p50 / p95, streaming, fresh shell", ms(es.reference), "-", split(eh.streaming)]);
  }
  if (f) rows.push([`${f.viewers} viewers: worst lag p50 / max`, "-", "-", `${f.p50LagMs.toFixed(0)} / ${f.maxLagMs.toFixed(0)} ms (${f.resyncs} resyncs)`]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  for (const row of rows) process.stdout.write(`| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
