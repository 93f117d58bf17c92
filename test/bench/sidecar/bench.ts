// npm run bench:sidecar — the sidecar against a direct connection and two other intercepting
// proxies, in one run, with the same loopback client and upstream (acceptance 4 of issue 3).
// Every target runs at once and is measured in short slices, in rounds that rotate the order:
// this machine's CPUs speed up and slow down by ±20 % over seconds, so targets measured one
// after another saw different machines. Ratios are taken within a round and their median is
// reported: c1 in many short rounds (latency), then c32 in fewer, longer ones (throughput).
// Writes .bench/sidecar/results.json and prints a table. `--quick` runs smaller counts.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, setPriority } from "node:os";
import { join, resolve } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { SIDECAR_NODE_FLAGS } from "../../../sidecar/node-flags.js";
import { BUNDLE_FLAGS } from "../bundle.js";
import { Connection, SECRET, STUB, viaProxy } from "./client.js";
import { canConnect, freePort } from "./ports.js";

const repo = resolve(import.meta.dirname, "../../..");
const work = join(repo, ".bench/sidecar");
const quick = process.argv.includes("--quick");
/** Totals per target over all rounds; each round takes its share. */
const COUNTS = quick
  ? { c1Rounds: 6, c32Rounds: 3, warm: 50, warmEach: 20, c1: 600, c32Each: 90, fresh: 10, mints: 30 }
  : { c1Rounds: 20, c32Rounds: 8, warm: 200, warmEach: 50, c1: 4000, c32Each: 800, fresh: 40, mints: 200 };
/**
 * Unmeasured requests at the start of every slice. A target waits idle while the others take
 * their slices, and V8's memory reducer shrinks an idle isolate's young generation, so a Node
 * proxy's first requests after a pause run with a small heap; a proxy under steady use does not.
 */
const SLICE_WARM = { c1: 20, c32Each: 3 };
const children: ChildProcess[] = [];

interface Target {
  name: string;
  pid?: number;
  connect(): Promise<TLSSocket>;
}

interface Result {
  name: string;
  c1: { p50: number; p99: number; rps: number };
  c32: { p50: number; p99: number; rps: number };
  newConnectionMs: number;
  /** CPU time of the proxy process (and its children) per keep-alive request, at concurrency 1 and 32. */
  cpuMsPerRequest?: { c1: number; c32: number };
  /** RSS of the process just started, before its first request. */
  idleRssMb?: number;
  loadedRssMb?: number;
  /** RSS after SETTLE_MS without traffic following the load: a long-running pod's idle state (V8's memory reducer has run). */
  settledRssMb?: number;
  error?: string;
}

/** What one target gathers over the rounds. */
interface Tally {
  target: Target;
  idleRssMb: number | undefined;
  one?: Connection;
  many: Connection[];
  c1: number[];
  c32: number[];
  /** Per round: the c1 slice's p50 (ms) and the c32 slice's requests/s. */
  rounds: { c1P50: number[]; c32Rps: number[] };
  c1Seconds: number;
  c32Seconds: number;
  cpuMs: { c1: number; c32: number };
  loadedRssMb: number;
  fresh: number[];
  error?: string;
}

function run(command: string, args: string[], options: { cwd?: string } = {}): string {
  const result = spawnSync(command, args, { encoding: "utf8", cwd: options.cwd });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Starts a child and waits for its first stdout line (JSON) or, with `port`, for the port to accept. */
async function startChild(command: string, args: string[], ready: { line: true } | { port: number }): Promise<{ child: ChildProcess; line?: string }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], cwd: repo });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${command} exited (${String(code)}): ${stderr}`);
  });
  if ("line" in ready) {
    const line = new Promise<string>((resolveLine) => {
      let buffered = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const end = buffered.indexOf("\n");
        if (end >= 0) resolveLine(buffered.slice(0, end));
      });
    });
    return { child, line: await Promise.race([line, exited]) };
  }
  child.stdout?.resume();
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await canConnect(ready.port)) return { child };
    if (Date.now() > deadline) throw new Error(`${command} did not open port ${ready.port}: ${stderr}`);
    await Promise.race([new Promise((r) => setTimeout(r, 100)), exited]);
  }
}



function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  // The process and its children (squid's certificate helpers, for instance).
  let total = 0;
  const visit = (id: number): void => {
    try {
      const status = readFileSync(`/proc/${id}/status`, "utf8");
      total += Number(/VmRSS:\s+([0-9]+) kB/.exec(status)?.[1] ?? 0) * 1024;
      for (const task of readdirSync(`/proc/${id}/task`)) {
        const kids = readFileSync(`/proc/${id}/task/${task}/children`, "utf8").trim();
        for (const kid of kids === "" ? [] : kids.split(" ")) visit(Number(kid));
      }
    } catch {
      // gone
    }
  };
  visit(pid);
  return Math.round((total / 1e6) * 10) / 10;
}

/** utime + stime of a process, in ms (USER_HZ = 100). */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** `--only <text>` measures only the targets whose name contains it (for profiling one). */
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;

function tally(target: Target): Tally {
  return { target, idleRssMb: rssMb(target.pid), many: [], c1: [], c32: [], rounds: { c1P50: [], c32Rps: [] }, c1Seconds: 0, c32Seconds: 0, cpuMs: { c1: 0, c32: 0 }, loadedRssMb: 0, fresh: [] };
}

/** Opens the target's keep-alive connections (one, and 32) and warms them. */
async function openConnections(t: Tally, host: string): Promise<void> {
  t.one = new Connection(await t.target.connect(), host);
  for (let index = 0; index < COUNTS.warm; index++) await t.one.request();
  t.many = await Promise.all(Array.from({ length: 32 }, async () => new Connection(await t.target.connect(), host)));
  await Promise.all(t.many.map(async (connection) => {
    for (let index = 0; index < COUNTS.warmEach; index++) await connection.request();
  }));
}

/** One round's slice of a target at concurrency 1: keep-alive requests one after another. */
async function c1Slice(t: Tally): Promise<void> {
  const one = t.one;
  if (one === undefined) throw new Error("connections not open");
  for (let index = 0; index < SLICE_WARM.c1; index++) await one.request();
  const c1: number[] = [];
  const cpu = cpuMs(t.target.pid);
  const started = performance.now();
  for (let index = 0; index < COUNTS.c1 / COUNTS.c1Rounds; index++) c1.push(await one.request());
  t.c1Seconds += (performance.now() - started) / 1000;
  const cpuAfter = cpuMs(t.target.pid);
  if (cpu !== undefined && cpuAfter !== undefined) t.cpuMs.c1 += cpuAfter - cpu;
  t.c1.push(...c1);
  t.rounds.c1P50.push(percentile(c1, 50));
}

/** One round's slice of a target at concurrency 32: 32 keep-alive connections, one request in flight on each. */
async function c32Slice(t: Tally): Promise<void> {
  await Promise.all(t.many.map(async (connection) => {
    for (let index = 0; index < SLICE_WARM.c32Each; index++) await connection.request();
  }));
  const sampler = t.target.pid === undefined ? undefined : setInterval(() => (t.loadedRssMb = Math.max(t.loadedRssMb, rssMb(t.target.pid) ?? 0)), 50);
  const c32: number[] = [];
  const each = Math.ceil(COUNTS.c32Each / COUNTS.c32Rounds);
  const cpu = cpuMs(t.target.pid);
  const started = performance.now();
  await Promise.all(t.many.map(async (connection) => {
    for (let index = 0; index < each; index++) c32.push(await connection.request());
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuMs(t.target.pid);
  if (cpu !== undefined && cpuAfter !== undefined) t.cpuMs.c32 += cpuAfter - cpu;
  clearInterval(sampler);
  t.loadedRssMb = Math.max(t.loadedRssMb, rssMb(t.target.pid) ?? 0);
  t.c32.push(...c32);
  t.c32Seconds += seconds;
  t.rounds.c32Rps.push(c32.length / seconds);
}

/**
 * Measures every target in rounds, each round starting one target later, so that no target
 * always follows the same neighbour or always meets the run's start or end. A target that fails
 * is reported with its error and left out of the rounds after.
 */
async function measureAll(targets: Target[], host: string): Promise<Tally[]> {
  const tallies = targets.map(tally);
  const live = (): Tally[] => tallies.filter((t) => t.error === undefined);
  const attempt = async (t: Tally, step: () => Promise<void>): Promise<void> => {
    try {
      await step();
    } catch (error) {
      t.error = error instanceof Error ? error.message : String(error);
    }
  };
  for (const t of tallies) await attempt(t, () => openConnections(t, host));
  const rotated = (round: number): Tally[] => {
    const order = live();
    return [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
  };
  for (let round = 0; round < COUNTS.c1Rounds; round++) {
    for (const t of rotated(round)) await attempt(t, () => c1Slice(t));
  }
  console.log(`c1: ${COUNTS.c1Rounds} rounds done`);
  for (let round = 0; round < COUNTS.c32Rounds; round++) {
    const turned = rotated(round);
    for (const t of turned) await attempt(t, () => c32Slice(t));
    console.log(`c32 round ${round + 1}/${COUNTS.c32Rounds}: ${turned.map((t) => `${t.target.name} ${Math.round(t.rounds.c32Rps.at(-1) ?? 0)}/s`).join(", ")}`);
  }
  for (const t of tallies) {
    t.one?.close();
    for (const connection of t.many) connection.close();
  }
  for (let index = 0; index < COUNTS.fresh; index++) {
    for (const t of live()) {
      await attempt(t, async () => {
        const started = performance.now();
        const connection = new Connection(await t.target.connect(), host);
        await connection.request();
        t.fresh.push(performance.now() - started);
        connection.close();
      });
    }
  }
  return tallies;
}

async function resultsOf(tallies: Tally[]): Promise<Result[]> {
  // One wait for every process: each has been idle since its last slice.
  await new Promise((resolveWait) => setTimeout(resolveWait, SETTLE_MS));
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return tallies.map((t) => {
    if (t.error !== undefined && t.c1.length === 0) return { name: t.target.name, c1: { p50: 0, p99: 0, rps: 0 }, c32: { p50: 0, p99: 0, rps: 0 }, newConnectionMs: 0, error: t.error };
    const proxied = t.target.pid !== undefined;
    return {
      name: t.target.name,
      c1: { p50: round(percentile(t.c1, 50)), p99: round(percentile(t.c1, 99)), rps: Math.round(t.c1.length / t.c1Seconds) },
      c32: { p50: round(percentile(t.c32, 50)), p99: round(percentile(t.c32, 99)), rps: Math.round(t.c32.length / t.c32Seconds) },
      newConnectionMs: round(percentile(t.fresh, 50)),
      ...(proxied ? { cpuMsPerRequest: { c1: round(t.cpuMs.c1 / t.c1.length), c32: round(t.cpuMs.c32 / t.c32.length) } } : {}),
      ...(proxied ? { idleRssMb: t.idleRssMb, loadedRssMb: t.loadedRssMb, settledRssMb: rssMb(t.target.pid) } : {}),
      ...(t.error === undefined ? {} : { error: t.error }),
    };
  });
}

const median = (values: number[]): number => percentile(values, 50);

/** A per-round comparison of two targets: its median, its range, and in how many rounds the sidecar did better. */
interface Comparison {
  median: number;
  min: number;
  max: number;
  won: number;
  rounds: number;
}

type Measure = keyof Tally["rounds"];

function compare(own: number[], theirs: number[], value: (own: number, theirs: number) => number, better: (figure: number) => boolean, digits: number): Comparison | undefined {
  const rounds = Math.min(own.length, theirs.length);
  if (rounds === 0) return undefined;
  const figures = Array.from({ length: rounds }, (_, index) => value(own[index]!, theirs[index]!));
  const scale = 10 ** digits;
  const fix = (figure: number): number => Math.round(figure * scale) / scale;
  return { median: fix(median(figures)), min: fix(Math.min(...figures)), max: fix(Math.max(...figures)), won: figures.filter(better).length, rounds };
}

/** The issue's targets, each as a per-round figure of the sidecar against its reference in the same round. */
function verdicts(tallies: Tally[]): Record<string, Comparison | undefined> {
  const find = (prefix: string): Tally | undefined => tallies.find((t) => t.target.name.startsWith(prefix));
  const swap = find("sidecar (intercept");
  const against = (prefix: string, measure: Measure, value: (own: number, theirs: number) => number, better: (figure: number) => boolean, digits: number): Comparison | undefined => {
    const other = find(prefix);
    return swap === undefined || other === undefined ? undefined : compare(swap.rounds[measure], other.rounds[measure], value, better, digits);
  };
  const ratio = (own: number, theirs: number): number => own / theirs;
  return {
    addedKeepAliveP50Ms: against("direct", "c1P50", (own, theirs) => own - theirs, (added) => added <= 0.3, 3),
    c32ShareOfDirect: against("direct", "c32Rps", ratio, (share) => share >= 0.5, 2),
    c1P50OverSquid: against("squid", "c1P50", ratio, (figure) => figure < 1, 2),
    c32RpsOverSquid: against("squid", "c32Rps", ratio, (figure) => figure > 1, 2),
    c1P50OverMitmproxy: against("mitmproxy", "c1P50", ratio, (figure) => figure < 1, 2),
    c32RpsOverMitmproxy: against("mitmproxy", "c32Rps", ratio, (figure) => figure > 1, 2),
  };
}

const SETTLE_MS = quick ? 12_000 : 20_000;

/** RSS after SETTLE_MS of no traffic (V8 shrinks the heap of an idle isolate some seconds after its last GC). */
async function settledRss(pid: number | undefined): Promise<number | undefined> {
  await new Promise((resolveWait) => setTimeout(resolveWait, SETTLE_MS));
  return rssMb(pid);
}

async function mintTimes(): Promise<{ leafP50Ms: number; contextP50Ms: number }> {
  const ca = await CertificateAuthority.create();
  const leaf: number[] = [];
  const context: number[] = [];
  for (let index = 0; index < COUNTS.mints; index++) {
    let started = performance.now();
    await ca.mintLeaf(`host${index}.bench.test`);
    leaf.push(performance.now() - started);
    started = performance.now();
    await ca.contextFor(`ctx${index}.bench.test`);
    context.push(performance.now() - started);
  }
  return { leafP50Ms: Math.round(percentile(leaf, 50) * 1000) / 1000, contextP50Ms: Math.round(percentile(context, 50) * 1000) / 1000 };
}

/**
 * Builds the sidecar the way the platform image ships it (images/lib/platform.sh): one esbuild
 * bundle with the same `require` shim. Loading ~200 separate modules costs ~8 MB more resident
 * memory than the bundle, so plain tsc output would not be the process the pod runs. The minimal
 * reference proxy (node built-ins only) is compiled by tsc.
 */
function buildSidecar(): string {
  const out = join(work, "build");
  rmSync(out, { recursive: true, force: true });
  run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "--ignoreConfig", "--outDir", out, "--rootDir", repo, "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--strict", "--skipLibCheck", "--types", "node", join(repo, "test/bench/sidecar/minimal-proxy.ts")]);
  const bundle = join(out, "sidecar-process.mjs");
  run(join(repo, "node_modules/.bin/esbuild"), [join(repo, "test/bench/sidecar/sidecar-process.ts"), ...BUNDLE_FLAGS, `--outfile=${bundle}`]);
  return bundle;
}

/**
 * The idle RSS of the sidecar's real entry point (sidecar/main.ts, with its DNS responder, config
 * watcher; the Vault code stays in a chunk it does not load), bundled as the image
 * bundles it and started with the pod's flags on loopback ports. It resolves names with the
 * system resolver, so it carries no bench traffic: memory only.
 */
async function podEntryRss(config: string): Promise<{ startMb: number | undefined; settledMb: number | undefined }> {
  // Split like the image (images/lib/platform.sh): the Vault code behind main's dynamic import
  // lands in a chunk that a sidecar without Vault never reads.
  const outdir = join(work, "build", "pod-entry");
  rmSync(outdir, { recursive: true, force: true });
  run(join(repo, "node_modules/.bin/esbuild"), [join(repo, "sidecar/main.ts"), ...BUNDLE_FLAGS, "--splitting", "--out-extension:.js=.mjs", `--outdir=${outdir}`]);
  const bundle = join(outdir, "main.mjs");
  const [explicit, tls, http, dns, admin] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const address = (port: number): string => `127.0.0.1:${port}`;
  const { child } = await startChild(process.execPath, [...SIDECAR_NODE_FLAGS, bundle, "--config", config,
    "--explicit", address(explicit), "--transparent-tls", address(tls), "--transparent-http", address(http), "--dns", address(dns), "--admin", address(admin)], { port: admin });
  const startMb = rssMb(child.pid);
  const settledMb = await settledRss(child.pid);
  child.kill("SIGTERM");
  return { startMb, settledMb };
}

async function main(): Promise<void> {
  // The machine may be busy with other work; every process of the run (children inherit it)
  // gets the same raised priority so the comparison is between the proxies, not the scheduler.
  try {
    setPriority(-10);
  } catch {
    console.log("note: could not raise priority (not root); figures include scheduler noise");
  }
  mkdirSync(work, { recursive: true });
  const loadAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
  const dir = join(work, `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const upstreamCa = await CertificateAuthority.create();
  const leaf = await upstreamCa.mintLeaf("localhost", ["tunnel.bench.test"]);
  writeFileSync(join(dir, "upstream.crt"), leaf.certificatePem);
  writeFileSync(join(dir, "upstream.key"), leaf.keyPem);
  writeFileSync(join(dir, "upstream-ca.crt"), upstreamCa.certificatePem);
  writeFileSync(join(dir, "secret"), SECRET);
  const upstreamCaPem = upstreamCa.certificatePem;

  const upstream = await startChild(process.execPath, ["--import", "tsx", join(repo, "test/bench/sidecar/upstream.ts"), join(dir, "upstream.crt"), join(dir, "upstream.key")], { line: true });
  const upstreamPort = (JSON.parse(upstream.line ?? "{}") as { port: number }).port;
  const target = `localhost:${upstreamPort}`;
  const targets: Target[] = [{ name: "direct", connect: () => directTls(upstreamPort, upstreamCaPem) }];
  const notes: string[] = [];

  // The sidecar: intercept + swap for localhost, raw tunnel for tunnel.bench.test.
  mkdirSync(join(dir, "ca"), { recursive: true });
  writeFileSync(join(dir, "sidecar.json"), JSON.stringify({
    egress: { allow: ["tunnel.bench.test"], allowPrivate: ["127.0.0.0/8"] },
    credentials: [{ name: "bench", stub: STUB, hosts: ["localhost"], inject: { headers: ["x-api-key"] }, source: { file: { path: join(dir, "secret") } } }],
    caDir: join(dir, "ca"),
    upstreamCaFile: join(dir, "upstream-ca.crt"),
  }));
  const sidecarScript = buildSidecar();
  // BENCH_SIDECAR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/x" profiles the sidecar under this load.
  const nodeArgs = [...SIDECAR_NODE_FLAGS, ...(process.env.BENCH_SIDECAR_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")];
  const sidecar = await startChild(process.execPath, [...nodeArgs, sidecarScript, join(dir, "sidecar.json")], { line: true });
  const sidecarPort = (JSON.parse(sidecar.line ?? "{}") as { explicit: number }).explicit;
  const sidecarCa = readFileSync(join(dir, "ca", "ca.crt"), "utf8");
  targets.push({ name: "sidecar (intercept + swap)", pid: sidecar.child.pid, connect: () => viaProxy(sidecarPort, target, "localhost", sidecarCa) });
  targets.push({ name: "sidecar (tunnel)", pid: sidecar.child.pid, connect: () => viaProxy(sidecarPort, `tunnel.bench.test:${upstreamPort}`, "tunnel.bench.test", upstreamCaPem) });

  // Reference: Node's floor for a TLS-terminating proxy, to tell the sidecar's cost from Node's.
  const proxyCa = await CertificateAuthority.create();
  const proxyLeaf = await proxyCa.mintLeaf("localhost");
  writeFileSync(join(dir, "minimal.crt"), `${proxyLeaf.certificatePem}\n${proxyCa.certificatePem}`);
  writeFileSync(join(dir, "minimal.key"), proxyLeaf.keyPem);
  const minimal = await startChild(process.execPath, [join(work, "build/test/bench/sidecar/minimal-proxy.js"), join(dir, "minimal.crt"), join(dir, "minimal.key"), join(dir, "upstream-ca.crt")], { line: true });
  const minimalPort = (JSON.parse(minimal.line ?? "{}") as { port: number }).port;
  targets.push({ name: "node minimal TLS proxy (ref)", pid: minimal.child.pid, connect: () => viaProxy(minimalPort, target, "localhost", proxyCa.certificatePem) });

  for (const [name, start] of [["mitmproxy (intercept)", startMitmproxy], ["squid (ssl-bump)", startSquid]] as const) {
    try {
      const proxy = await start(dir, SECRET);
      targets.push({ name, pid: proxy.pid, connect: () => viaProxy(proxy.port, target, "localhost", proxy.ca) });
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
      notes.push(`${name}: not measured — ${message}`);
    }
  }
  const wanted = targets.filter((candidate) => only === undefined || candidate.name.includes(only));
  console.log(`${wanted.length} targets; c1 in ${COUNTS.c1Rounds} rounds, c32 in ${COUNTS.c32Rounds} (load ${loadAtStart.join(" ")})`);
  const tallies = await measureAll(wanted, target);
  const results = await resultsOf(tallies);
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  const mint = await mintTimes();
  const podEntry = await podEntryRss(join(dir, "sidecar.json"));
  const summary = {
    date: new Date().toISOString(),
    quick,
    counts: COUNTS,
    nodeFlags: nodeArgs,
    // The machine is shared: figures mean little without how busy it was.
    cpus: cpus().length,
    loadAverage: { start: loadAtStart, end: loadavg().map((value) => Math.round(value * 100) / 100) },
    results,
    leafMint: mint,
    podEntry,
    verdicts: verdicts(tallies),
    notes: [...notes, ...results.filter((result) => result.error !== undefined).map((result) => `${result.name}: ${String(result.error)}`)],
  };
  writeFileSync(join(work, "results.json"), `${JSON.stringify(summary, null, 2)}\n`);
  printTable(summary);
  rmSync(dir, { recursive: true, force: true });
}

function directTls(port: number, ca: string): Promise<TLSSocket> {
  const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca });
  return once(socket, "secureConnect").then(() => socket);
}

interface Proxy {
  port: number;
  pid: number | undefined;
  ca: string;
}

async function startMitmproxy(dir: string, secret: string): Promise<Proxy> {
  if (spawnSync("mitmdump", ["--version"]).status !== 0) throw new Error("mitmdump is not installed (apt-get install mitmproxy)");
  const port = await freePort();
  const confdir = join(dir, "mitmproxy");
  mkdirSync(confdir, { recursive: true });
  const { child } = await startChild("mitmdump", [
    "-q", "--listen-host", "127.0.0.1", "--listen-port", String(port),
    "--set", `confdir=${confdir}`, "--set", `ssl_verify_upstream_trusted_ca=${join(dir, "upstream-ca.crt")}`,
    "--set", `modify_headers=/~q/x-api-key/${secret}`,
  ], { port });
  return { port, pid: child.pid, ca: readFileSync(join(confdir, "mitmproxy-ca-cert.pem"), "utf8") };
}

async function startSquid(dir: string, secret: string): Promise<Proxy> {
  if (!existsSync("/usr/sbin/squid") || !existsSync("/usr/lib/squid/security_file_certgen")) throw new Error("squid with ssl-bump is not installed (apt-get install squid-openssl)");
  const port = await freePort();
  const squidDir = join(dir, "squid");
  mkdirSync(squidDir, { recursive: true });
  run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-x509", "-days", "2", "-subj", "/CN=squid bench CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout", join(squidDir, "ca.key"), "-out", join(squidDir, "ca.crt")]);
  run("/usr/lib/squid/security_file_certgen", ["-c", "-s", join(squidDir, "ssl_db"), "-M", "16MB"]);
  run("chown", ["-R", "proxy:proxy", squidDir]);
  writeFileSync(join(squidDir, "squid.conf"), [
    `http_port 127.0.0.1:${port} ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-cert=${join(squidDir, "ca.crt")} tls-key=${join(squidDir, "ca.key")}`,
    `sslcrtd_program /usr/lib/squid/security_file_certgen -s ${join(squidDir, "ssl_db")} -M 16MB`,
    "sslcrtd_children 4 startup=1 idle=1",
    "ssl_bump bump all",
    `tls_outgoing_options cafile=${join(dir, "upstream-ca.crt")}`,
    "request_header_access X-Api-Key deny all",
    `request_header_replace X-Api-Key ${secret}`,
    "http_access allow localhost",
    "http_access deny all",
    "cache deny all",
    "access_log none",
    `cache_log ${join(squidDir, "cache.log")}`,
    `pid_filename ${join(squidDir, "squid.pid")}`,
    `coredump_dir ${squidDir}`,
    "cache_effective_user proxy",
    "shutdown_lifetime 0 seconds",
    "",
  ].join("\n"));
  const { child } = await startChild("/usr/sbin/squid", ["-N", "-f", join(squidDir, "squid.conf")], { port });
  return { port, pid: child.pid, ca: readFileSync(join(squidDir, "ca.crt"), "utf8") };
}

function printTable(summary: { cpus: number; loadAverage: { start: number[]; end: number[] }; results: Result[]; leafMint: { leafP50Ms: number; contextP50Ms: number }; podEntry: { startMb: number | undefined; settledMb: number | undefined }; verdicts: Record<string, Comparison | undefined>; notes: string[] }): void {
  const rows = [["target", "c1 p50 ms", "c1 p99 ms", "c1 req/s", "c32 p50 ms", "c32 p99 ms", "c32 req/s", "new conn ms", "CPU ms/req c1", "CPU ms/req c32", "start RSS MB", "loaded RSS MB", "idle after load MB"]];
  for (const result of summary.results) {
    rows.push([result.name, result.c1.p50, result.c1.p99, result.c1.rps, result.c32.p50, result.c32.p99, result.c32.rps, result.newConnectionMs, result.cpuMsPerRequest?.c1 ?? "-", result.cpuMsPerRequest?.c32 ?? "-", result.idleRssMb ?? "-", result.loadedRssMb ?? "-", result.settledRssMb ?? "-"].map(String));
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | "));
  console.log(`leaf mint p50 ${summary.leafMint.leafP50Ms} ms (with TLS context ${summary.leafMint.contextP50Ms} ms)`);
  console.log(`sidecar/main.js as the pod runs it (bundled, pod flags), idle: start RSS ${String(summary.podEntry.startMb)} MB, after ${SETTLE_MS / 1000} s ${String(summary.podEntry.settledMb)} MB`);
  const line = (label: string, comparison: Comparison | undefined, target: string): void => {
    if (comparison === undefined) return;
    console.log(`${label}: median ${comparison.median} (rounds ${comparison.min}–${comparison.max}); ${target} in ${comparison.won} of ${comparison.rounds} rounds`);
  };
  const { verdicts: v } = summary;
  line("added keep-alive p50 over direct, c1, ms", v.addedKeepAliveP50Ms, "≤ 0.3 ms");
  line("sidecar c32 req/s as a share of direct's", v.c32ShareOfDirect, "≥ 0.5");
  line("sidecar c1 p50 / squid's", v.c1P50OverSquid, "faster than squid");
  line("sidecar c32 req/s / squid's", v.c32RpsOverSquid, "faster than squid");
  line("sidecar c1 p50 / mitmproxy's", v.c1P50OverMitmproxy, "faster than mitmproxy");
  line("sidecar c32 req/s / mitmproxy's", v.c32RpsOverMitmproxy, "faster than mitmproxy");
  console.log(`load average (1/5/15 min) at start ${summary.loadAverage.start.join(" ")}, at end ${summary.loadAverage.end.join(" ")} on ${summary.cpus} CPUs`);
  for (const note of summary.notes) console.log(`note: ${note}`);
}

try {
  await main();
} finally {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
}
