// npm run bench:terminal — the terminal path measured against a reference in the same run:
// a local PTY read directly (the reference) and the same kind of PTY through the session API
// (REST-created session, WebSocket, hub, headless terminal). With no cluster this is the
// comparison available; the kubectl-exec comparison needs the e2e cluster (see the report).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import WebSocket from "ws";
import { staticTokenAuthenticator } from "../../../session-api/auth/static-tokens.js";
import { FakeAuthorizer, fakeAgentUser } from "../../../session-api/auth/fake-authorizer.js";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import { startServer } from "../../../session-api/server.js";
import { localPtyFactory, startLocalPty } from "../../../session-api/terminal/local-pty.js";

const TOKEN = "bench-token-0123456789abcdef";
const MB = 1 << 20;
const THROUGHPUT_BYTES = Number(process.env.BENCH_BYTES ?? 50 * MB);
const ECHO_SAMPLES = Number(process.env.BENCH_ECHO_SAMPLES ?? 200);
const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 50);
const home = mkdtempSync(join(tmpdir(), "agentbox-bench-"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };

/** A byte stream with a terminal at the other end, whichever way it is reached. */
interface Stream {
  write(text: string): void;
  onData(listener: (chunk: Buffer) => void): void;
  close(): void;
}

function direct(): Stream {
  const pty = startLocalPty({ command: ["sh"], env, cwd: home }, { cols: 120, rows: 40 });
  return { write: (t) => pty.write(t), onData: (l) => pty.onData(l), close: () => pty.close() };
}

async function viaApi(url: string, session: string): Promise<Stream> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/api/v1/namespaces/bench/sessions/${session}/terminal`, ["agentbox.v1", `agentbox.bearer.${TOKEN}`]);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const listeners: Array<(chunk: Buffer) => void> = [];
  ws.on("message", (data: Buffer, isBinary) => {
    if (isBinary) for (const l of listeners) l(data);
  });
  return { write: (t) => ws.send(Buffer.from(t)), onData: (l) => listeners.push(l), close: () => ws.close() };
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

async function throughput(stream: Stream): Promise<{ mbPerSec: number; bytes: number; seconds: number }> {
  await ready(stream);
  const line = "a".repeat(79);
  const end = waitFor(stream, "THROUGHPUT-2-END");
  const start = process.hrtime.bigint();
  stream.write(`yes ${line} | head -c ${THROUGHPUT_BYTES}; echo THROUGHPUT-$((1+1))-END\r`);
  const bytes = await end;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { mbPerSec: bytes / MB / seconds, bytes, seconds };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Keystroke → echo round trips, with `cat` in the foreground so the tty echoes each byte. */
async function echo(stream: Stream, streaming: boolean): Promise<{ p50: number; p95: number; samples: number }> {
  await ready(stream);
  if (streaming) stream.write("while :; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done &\r");
  stream.write("cat\r");
  await new Promise((resolve) => setTimeout(resolve, 300));
  const letters = "bcdefghijklmnopqrstuvwxyz";
  const samples: number[] = [];
  let pending: { char: string; start: bigint; resolve: () => void } | undefined;
  stream.onData((chunk) => {
    if (pending && chunk.includes(pending.char)) {
      samples.push(Number(process.hrtime.bigint() - pending.start) / 1e6);
      const done = pending.resolve;
      pending = undefined;
      done();
    }
  });
  for (let i = 0; i < ECHO_SAMPLES; i++) {
    const char = letters[i % letters.length] ?? "b";
    await new Promise<void>((resolve) => {
      pending = { char, start: process.hrtime.bigint(), resolve };
      stream.write(char);
    });
    if (i % 40 === 39) stream.write("\x15"); // kill the line so cat's buffer stays small
  }
  // ^C flushes the tty's input queue, so give the shell a moment to be back at its prompt.
  stream.write("\x03");
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (streaming) stream.write("kill %1\r");
  await ready(stream);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length };
}

/** N viewers on one session with a timestamped stream: how far behind live each one gets. */
async function fanOut(url: string, session: string, typer: Stream): Promise<{ viewers: number; p50LagMs: number; maxLagMs: number; bytesPerViewer: number }> {
  const viewers: Array<{ maxLag: number; bytes: number; ws: WebSocket }> = [];
  for (let i = 0; i < VIEWERS; i++) {
    const ws = new WebSocket(`${url.replace("http", "ws")}/api/v1/namespaces/bench/sessions/${session}/terminal?mode=view`, ["agentbox.v1", `agentbox.bearer.${TOKEN}`]);
    const viewer = { maxLag: 0, bytes: 0, ws };
    ws.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) return;
      viewer.bytes += data.length;
      const text = data.toString("latin1");
      const at = text.lastIndexOf("T1");
      const match = at >= 0 ? /^T(\d{16})/.exec(text.slice(at)) : null;
      if (match?.[1]) viewer.maxLag = Math.max(viewer.maxLag, Date.now() - Number(match[1]) / 1000);
    });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    viewers.push(viewer);
  }
  await ready(typer);
  const end = waitFor(typer, "FANOUT-3-END");
  // 5 s of 1 KiB lines stamped with the time they were written, in microseconds.
  const script = join(home, "stamps.py");
  writeFileSync(script, "import time, sys\nend = time.time() + 5\nwhile time.time() < end:\n    sys.stdout.write('T%d %s\\n' % (time.time_ns() // 1000, 'x' * 1000))\n    sys.stdout.flush()\n    time.sleep(0.0005)\n");
  typer.write(`python3 ${script}; echo FANOUT-$((1+2))-END\r`);
  await end;
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const v of viewers) v.ws.close();
  if (viewers.some((v) => v.bytes < 1 * MB)) throw new Error("a viewer received under 1 MB: the timestamp stream did not run");
  const lags = viewers.map((v) => v.maxLag);
  return { viewers: viewers.length, p50LagMs: percentile(lags, 50), maxLagMs: Math.max(...lags), bytesPerViewer: Math.round(viewers.reduce((a, v) => a + v.bytes, 0) / viewers.length) };
}

async function main(): Promise<void> {
  const store = new FakeSessionStore();
  for (const name of ["tp", "echo-idle", "echo-busy", "fan"]) await store.createSession("bench", { name, spec: { agent: { image: "local" } } });
  const server = await startServer(
    {
      store,
      authenticator: staticTokenAuthenticator([{ token: TOKEN, identity: { username: "bench", groups: [], via: "static" } }]),
      authorizer: new FakeAuthorizer([fakeAgentUser("bench")]),
      log: pino({ level: "silent" }),
      allowedOrigins: [],
      upstreamFor: () => localPtyFactory({ command: ["sh"], env, cwd: home }),
      webUi: false,
    },
    0,
  );
  const results: Record<string, unknown> = { when: new Date().toISOString(), node: process.version, throughputBytes: THROUGHPUT_BYTES, echoSamples: ECHO_SAMPLES };
  try {
    const ref = direct();
    const api = await viaApi(server.url, "tp");
    results.throughput = { reference: await throughput(ref), sessionApi: await throughput(api) };
    const echoRef = direct();
    const echoApi = await viaApi(server.url, "echo-idle");
    results.echoIdle = { reference: await echo(echoRef, false), sessionApi: await echo(echoApi, false) };
    const busyRef = direct();
    const busyApi = await viaApi(server.url, "echo-busy");
    results.echoStreaming = { reference: await echo(busyRef, true), sessionApi: await echo(busyApi, true) };
    const fanTyper = await viaApi(server.url, "fan");
    results.fanOut = await fanOut(server.url, "fan", fanTyper);
    for (const s of [ref, api, echoRef, echoApi, busyRef, busyApi, fanTyper]) s.close();
  } finally {
    await server.close();
  }
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `terminal-${String(results.when).replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printTable(results);
  process.stdout.write(`\nresults: ${file}\n`);
}

function printTable(r: Record<string, unknown>): void {
  const t = r.throughput as { reference: { mbPerSec: number }; sessionApi: { mbPerSec: number } };
  const ei = r.echoIdle as { reference: { p50: number; p95: number }; sessionApi: { p50: number; p95: number } };
  const es = r.echoStreaming as typeof ei;
  const f = r.fanOut as { viewers: number; p50LagMs: number; maxLagMs: number };
  const rows = [
    ["measure", "local PTY (reference)", "through session API"],
    [`throughput ${THROUGHPUT_BYTES / MB} MB`, `${t.reference.mbPerSec.toFixed(1)} MB/s`, `${t.sessionApi.mbPerSec.toFixed(1)} MB/s`],
    ["echo p50 / p95, idle", `${ei.reference.p50.toFixed(2)} / ${ei.reference.p95.toFixed(2)} ms`, `${ei.sessionApi.p50.toFixed(2)} / ${ei.sessionApi.p95.toFixed(2)} ms`],
    ["echo p50 / p95, streaming", `${es.reference.p50.toFixed(2)} / ${es.reference.p95.toFixed(2)} ms`, `${es.sessionApi.p50.toFixed(2)} / ${es.sessionApi.p95.toFixed(2)} ms`],
    [`${f.viewers} viewers: lag p50 / max`, "-", `${f.p50LagMs.toFixed(0)} / ${f.maxLagMs.toFixed(0)} ms`],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  for (const row of rows) process.stdout.write(`| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
