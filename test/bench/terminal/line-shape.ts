// npm run bench:terminal-lines — why pods/attach carries terminal output slower than pods/exec on
// this cluster. One plain pod (a tty bash as the container's own process); the same client code
// (the session API's v5 upstream, kube-stream.ts) reads N bytes of output through pods/attach and
// through pods/exec for several line shapes, and notes for each run the bytes containerd wrote
// (streams and container logs) and the CPU time containerd, the kubelet and the API server spent. An attached container's output also goes to its CRI log, one record (timestamp, stream,
// tag) per line; an exec'd process's output does not.
// Flags (environment): BENCH_BYTES (20 MiB), BENCH_SHAPES (yes,80,200,4000).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE } from "../../e2e/support/cluster.js";
import { kubeStreamFactory } from "../../../session-api/terminal/kube-stream.js";
import type { Upstream } from "../../../session-api/terminal/upstream.js";
import { waitFor } from "../../support/wait.js";

const MB = 1 << 20;
const BYTES = Number(process.env.BENCH_BYTES ?? 20 * MB);
const SHAPES = (process.env.BENCH_SHAPES ?? "yes,80,200,4000").split(",");

/** The shell command printing BYTES of output in lines of the given shape. */
function workload(shape: string): string {
  if (shape === "yes") return `yes | head -c ${BYTES}`;
  const length = Number(shape);
  // `yes LINE` prints LINE and a newline: lines of `length` bytes in all.
  return `yes ${"x".repeat(length - 1)} | head -c ${BYTES}`;
}

/** CPU seconds (user + system) of every process whose command line starts with `name`. */
function cpuOf(name: string): number {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
      if (!cmd.endsWith(name)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the process went away while we looked
    }
  }
  return total;
}

const DAEMONS = ["containerd", "kubelet", "kube-apiserver"];
const cpu = (): Record<string, number> => Object.fromEntries(DAEMONS.map((d) => [d, cpuOf(d)]));

/**
 * Bytes containerd has written so far (every write: the streams it serves and the container logs
 * it writes), from /proc/PID/io. The log files themselves are no measure: the kubelet rotates and
 * compresses them while a flood runs.
 */
function containerdWritten(): number {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if ((readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "") !== "containerd") continue;
      total += Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
    } catch {
      // the process went away while we looked
    }
  }
  return total;
}

/** Resolves with the bytes seen once `marker` has gone by. */
function until(upstream: Upstream, marker: string): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    let tail = "";
    let done = false;
    upstream.onData((chunk) => {
      if (done) return;
      bytes += chunk.length;
      tail = (tail + chunk.toString("latin1")).slice(-4096);
      if (tail.includes(marker)) {
        done = true;
        resolve(bytes);
      }
    });
  });
}

let runs = 0;
async function measure(upstream: Upstream, shape: string): Promise<Record<string, unknown>> {
  const n = ++runs;
  // The marker is computed by the shell so the echoed command line does not match it.
  const ready = until(upstream, `READY-${n + 1000}`);
  upstream.write(`echo READY-$((${n}+1000))\r`);
  await ready;
  const writtenBefore = containerdWritten();
  const cpuBefore = cpu();
  const done = until(upstream, `DONE-${n + 2000}`);
  const start = process.hrtime.bigint();
  upstream.write(`${workload(shape)}; echo DONE-$((${n}+2000))\r`);
  const bytes = await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuAfter = cpu();
  return {
    shape: shape === "yes" ? "yes (2-byte lines)" : `${shape}-byte lines`,
    mbPerSec: Number((bytes / MB / seconds).toFixed(2)),
    seconds: Number(seconds.toFixed(2)),
    containerdWroteMB: Number(((containerdWritten() - writtenBefore) / MB).toFixed(1)),
    cpuSeconds: Object.fromEntries(DAEMONS.map((d) => [d, Number(((cpuAfter[d] ?? 0) - (cpuBefore[d] ?? 0)).toFixed(2))])),
  };
}

const ECHO_SAMPLES = Number(process.env.BENCH_ECHO_SAMPLES ?? 100);

/**
 * Keystroke → echo round trips with `cat` in the foreground while a shell loop floods the
 * terminal with 50-byte lines (bench.ts's streaming echo), on one upstream with no hub or viewer:
 * what the runtime path alone adds, attach against exec.
 */
async function echoWhileStreaming(upstream: Upstream): Promise<Record<string, unknown>> {
  const n = ++runs;
  const ready = until(upstream, `READY-${n + 1000}`);
  upstream.write(`echo READY-$((${n}+1000))\r`);
  await ready;
  upstream.write(`while :; do echo ${"a".repeat(48)}; done &\r`);
  upstream.write("cat\r");
  const samples: number[] = [];
  let pending: { char: string; start: bigint; resolve: () => void } | undefined;
  upstream.onData((chunk) => {
    if (pending && chunk.includes(pending.char)) {
      const { resolve } = pending;
      samples.push(Number(process.hrtime.bigint() - pending.start) / 1e6);
      pending = undefined;
      resolve();
    }
  });
  const letters = "bcdefghijklmnopqrstuvwxyz";
  // Let the flood fill the pipes first.
  await new Promise((resolve) => setTimeout(resolve, 500));
  samples.length = 0;
  for (let i = 0; i < ECHO_SAMPLES; i++) {
    const char = letters[i % letters.length] ?? "b";
    await new Promise<void>((resolve) => {
      pending = { char, start: process.hrtime.bigint(), resolve };
      upstream.write(char);
    });
    if (i % 40 === 39) upstream.write("\x15");
  }
  upstream.write("\x03");
  // The tty throws away typed input when it delivers the SIGINT, so a command typed right after
  // ^C may never reach the shell: type it again until the shell has run it.
  const done = until(upstream, `DONE-${n + 2000}`);
  let ran = false;
  void done.then(() => (ran = true));
  const deadline = Date.now() + 30_000;
  while (!ran) {
    if (Date.now() > deadline) throw new Error("the shell did not come back after ^C within 30 s");
    upstream.write(`kill %1 2>/dev/null; echo DONE-$((${n}+2000))\r`);
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(2));
  return { echoP50Ms: at(50), echoP95Ms: at(95), samples: samples.length };
}

async function main(): Promise<void> {
  const cluster = connect();
  const namespace = await createNamespace(cluster, "bench-lines");
  const pod = "lines";
  try {
    await cluster.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: pod },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: "agent", image: SHELL_IMAGE, imagePullPolicy: "IfNotPresent", command: ["bash", "--norc", "-i"], stdin: true, tty: true }],
        },
      },
    });
    await waitFor("the pod running", async () => ((await cluster.core.readNamespacedPod({ namespace, name: pod })).status?.phase === "Running" ? true : undefined), { timeoutMs: 120_000, intervalMs: 250 });
    const results: Array<Record<string, unknown>> = [];
    const echoes: Array<Record<string, unknown>> = [];
    const loadBefore = loadavg();
    for (const mode of ["attach", "exec"] as const) {
      const upstream = await kubeStreamFactory(cluster.kc, { namespace, pod, container: "agent", mode, ...(mode === "exec" ? { command: ["bash", "--norc", "-i"] } : {}) })({ cols: 120, rows: 40 });
      for (const shape of SHAPES) results.push({ path: `pods/${mode}`, ...(await measure(upstream, shape)) });
      echoes.push({ path: `pods/${mode}`, ...(await echoWhileStreaming(upstream)) });
      upstream.close();
    }
    const loadAfter = loadavg();
    const when = new Date().toISOString();
    const dir = join(import.meta.dirname, "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `lines-${when.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify({ when, bytes: BYTES, loadBefore, loadAfter, results, echoWhileStreaming: echoes }, null, 2)}\n`);
    process.stdout.write(`results: ${file}\n`);
    process.stdout.write(`| path | ${(BYTES / MB).toFixed(0)} MB of output as | MB/s | containerd wrote (streams + logs) | CPU s: containerd / kubelet / apiserver |\n|---|---|---|---|---|\n`);
    for (const r of results) {
      const c = r.cpuSeconds as Record<string, number>;
      process.stdout.write(`| ${String(r.path)} | ${String(r.shape)} | ${String(r.mbPerSec)} | ${String(r.containerdWroteMB)} MB | ${c.containerd} / ${c.kubelet} / ${c["kube-apiserver"]} |\n`);
    }
    for (const e of echoes) process.stdout.write(`echo while a loop floods, ${String(e.path)}: p50 ${String(e.echoP50Ms)} ms, p95 ${String(e.echoP95Ms)} ms (${String(e.samples)} samples)\n`);
    process.stdout.write(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}\n`);
  } finally {
    await deleteNamespace(cluster, namespace);
  }
}

await main();
// The kubeconfig's keep-alive sockets would hold the process open.
process.exit(0);
