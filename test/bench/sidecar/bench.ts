// npm run bench:sidecar — the sidecar against a direct connection and two other intercepting
// proxies, in one run, with the same loopback client and upstream (acceptance 4 of issue 3).
// Writes .bench/sidecar/results.json and prints a table. `--quick` runs smaller counts.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { cpus, loadavg, setPriority } from "node:os";
import { join, resolve } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { BUNDLE_FLAGS } from "../bundle.js";
import { canConnect, freePort } from "./ports.js";

const repo = resolve(import.meta.dirname, "../../..");
const work = join(repo, ".bench/sidecar");
const quick = process.argv.includes("--quick");
const COUNTS = quick ? { warm: 50, c1: 300, c32Each: 30, fresh: 10, mints: 30 } : { warm: 200, c1: 2000, c32Each: 150, fresh: 40, mints: 200 };
const SECRET = "sk-ant-api03-" + "BENCHrealREALrealREALrealREALrealREALreal0";
const STUB = "sk-ant-api03-" + "BENCHstubSTUBstubSTUBstubSTUBstubSTUBstub1";
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
  /** CPU time of the proxy process (and its children) per keep-alive request at concurrency 1. */
  cpuMsPerRequest?: number;
  /** RSS of the process just started, before its first request. */
  idleRssMb?: number;
  loadedRssMb?: number;
  /** RSS after SETTLE_MS without traffic following the load: a long-running pod's idle state (V8's memory reducer has run). */
  settledRssMb?: number;
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



/** CONNECT through an HTTP proxy, then TLS inside the tunnel. */
async function viaProxy(proxyPort: number, target: string, servername: string, ca: string): Promise<TLSSocket> {
  const socket = netConnect({ host: "127.0.0.1", port: proxyPort, noDelay: true });
  await once(socket, "connect");
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (!head.includes("\r\n\r\n")) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  socket.pause();
  if (!/^HTTP\/1\.[01] 200/.test(head.toString())) throw new Error(`CONNECT ${target} refused: ${head.toString().split("\r\n")[0] ?? ""}`);
  const tls = tlsConnect({ socket, servername, ca });
  await once(tls, "secureConnect");
  return tls;
}

/** A minimal keep-alive HTTP/1.1 client over one socket: the same for every target. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  constructor(private readonly socket: TLSSocket, private readonly host: string) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on("error", () => undefined);
  }

  async request(): Promise<number> {
    const started = performance.now();
    this.socket.write(`GET /bench HTTP/1.1\r\nHost: ${this.host}\r\nx-api-key: ${STUB}\r\naccept: application/json\r\n\r\n`);
    for (;;) {
      const end = this.complete();
      if (end > 0) {
        const status = this.buffer.subarray(9, 12).toString();
        this.buffer = this.buffer.subarray(end);
        if (status !== "200") throw new Error(`status ${status}`);
        return performance.now() - started;
      }
      if (this.socket.destroyed) throw new Error("connection closed");
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  private complete(): number {
    const headEnd = this.buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) return 0;
    const head = this.buffer.subarray(0, headEnd).toString("latin1").toLowerCase();
    const length = /\r\ncontent-length: *([0-9]+)/.exec(head);
    if (length?.[1] !== undefined) {
      const total = headEnd + 4 + Number(length[1]);
      return this.buffer.length >= total ? total : 0;
    }
    const last = this.buffer.indexOf("\r\n0\r\n\r\n", headEnd);
    return last < 0 ? 0 : last + 7;
  }

  close(): void {
    this.socket.destroy();
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

async function measureIfWanted(target: Target, host: string): Promise<Result | undefined> {
  return only === undefined || target.name.includes(only) ? measure(target, host) : undefined;
}

function pushIfWanted(results: Result[], result: Result | undefined): void {
  if (result !== undefined) results.push(result);
}

/** `--only <text>` measures only the targets whose name contains it (for profiling one). */
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;

async function measure(target: Target, host: string): Promise<Result> {
  const idleRssMb = rssMb(target.pid);
  const one = new Connection(await target.connect(), host);
  for (let index = 0; index < COUNTS.warm; index++) await one.request();
  const c1: number[] = [];
  const cpuBefore = cpuMs(target.pid);
  const c1Start = performance.now();
  for (let index = 0; index < COUNTS.c1; index++) c1.push(await one.request());
  const c1Seconds = (performance.now() - c1Start) / 1000;
  const cpuAfter = cpuMs(target.pid);
  one.close();

  const many = await Promise.all(Array.from({ length: 32 }, async () => new Connection(await target.connect(), host)));
  await Promise.all(many.map(async (connection) => {
    for (let index = 0; index < 5; index++) await connection.request();
  }));
  let loadedRssMb = 0;
  const sampler = setInterval(() => (loadedRssMb = Math.max(loadedRssMb, rssMb(target.pid) ?? 0)), 50);
  const c32: number[] = [];
  const c32Start = performance.now();
  await Promise.all(many.map(async (connection) => {
    for (let index = 0; index < COUNTS.c32Each; index++) c32.push(await connection.request());
  }));
  const c32Seconds = (performance.now() - c32Start) / 1000;
  clearInterval(sampler);
  loadedRssMb = Math.max(loadedRssMb, rssMb(target.pid) ?? 0);
  for (const connection of many) connection.close();

  const fresh: number[] = [];
  for (let index = 0; index < COUNTS.fresh; index++) {
    const started = performance.now();
    const connection = new Connection(await target.connect(), host);
    await connection.request();
    fresh.push(performance.now() - started);
    connection.close();
  }
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return {
    name: target.name,
    c1: { p50: round(percentile(c1, 50)), p99: round(percentile(c1, 99)), rps: Math.round(c1.length / c1Seconds) },
    c32: { p50: round(percentile(c32, 50)), p99: round(percentile(c32, 99)), rps: Math.round(c32.length / c32Seconds) },
    newConnectionMs: round(percentile(fresh, 50)),
    ...(cpuBefore === undefined || cpuAfter === undefined ? {} : { cpuMsPerRequest: round((cpuAfter - cpuBefore) / COUNTS.c1) }),
    ...(idleRssMb === undefined ? {} : { idleRssMb, loadedRssMb, settledRssMb: await settledRss(target.pid) }),
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
  const { child } = await startChild(process.execPath, [...POD_NODE_FLAGS, bundle, "--config", config,
    "--explicit", address(explicit), "--transparent-tls", address(tls), "--transparent-http", address(http), "--dns", address(dns), "--admin", address(admin)], { port: admin });
  const startMb = rssMb(child.pid);
  const settledMb = await settledRss(child.pid);
  child.kill("SIGTERM");
  return { startMb, settledMb };
}

/**
 * The V8 flags of the sidecar container's command (proposed to operator/desired.ts, see
 * README.md): a 1 MB young generation (the sidecar's garbage is short-lived request buffers, so
 * a small nursery costs little time and keeps RSS flat under load) and an old-space ceiling
 * well inside the container's 256 Mi memory limit, so V8 collects harder before the kernel kills.
 */
const POD_NODE_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=160"];

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
  const results: Result[] = [];
  const notes: string[] = [];

  pushIfWanted(results, await measureIfWanted({ name: "direct", connect: () => directTls(upstreamPort, upstreamCaPem) }, target));

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
  const nodeArgs = [...POD_NODE_FLAGS, ...(process.env.BENCH_SIDECAR_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")];
  const sidecar = await startChild(process.execPath, [...nodeArgs, sidecarScript, join(dir, "sidecar.json")], { line: true });
  const sidecarPort = (JSON.parse(sidecar.line ?? "{}") as { explicit: number }).explicit;
  const sidecarCa = readFileSync(join(dir, "ca", "ca.crt"), "utf8");
  pushIfWanted(results, await measureIfWanted({ name: "sidecar (intercept + swap)", pid: sidecar.child.pid, connect: () => viaProxy(sidecarPort, target, "localhost", sidecarCa) }, target));
  pushIfWanted(results, await measureIfWanted({ name: "sidecar (tunnel)", pid: sidecar.child.pid, connect: () => viaProxy(sidecarPort, `tunnel.bench.test:${upstreamPort}`, "tunnel.bench.test", upstreamCaPem) }, target));
  sidecar.child.kill("SIGTERM");
  await once(sidecar.child, "exit");

  // Reference: Node's floor for a TLS-terminating proxy, to tell the sidecar's cost from Node's.
  const proxyCa = await CertificateAuthority.create();
  const proxyLeaf = await proxyCa.mintLeaf("localhost");
  writeFileSync(join(dir, "minimal.crt"), `${proxyLeaf.certificatePem}\n${proxyCa.certificatePem}`);
  writeFileSync(join(dir, "minimal.key"), proxyLeaf.keyPem);
  const minimal = await startChild(process.execPath, [join(work, "build/test/bench/sidecar/minimal-proxy.js"), join(dir, "minimal.crt"), join(dir, "minimal.key"), join(dir, "upstream-ca.crt")], { line: true });
  const minimalPort = (JSON.parse(minimal.line ?? "{}") as { port: number }).port;
  pushIfWanted(results, await measureIfWanted({ name: "node minimal TLS proxy (ref)", pid: minimal.child.pid, connect: () => viaProxy(minimalPort, target, "localhost", proxyCa.certificatePem) }, target));
  minimal.child.kill("SIGTERM");

  for (const [name, start] of [["mitmproxy (intercept)", startMitmproxy], ["squid (ssl-bump)", startSquid]] as const) {
    try {
      const proxy = await start(dir, SECRET);
      pushIfWanted(results, await measureIfWanted({ name, pid: proxy.pid, connect: () => viaProxy(proxy.port, target, "localhost", proxy.ca) }, target));
      proxy.stop();
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
      notes.push(`${name}: not measured — ${message}`);
    }
  }
  const mint = await mintTimes();
  const podEntry = await podEntryRss(join(dir, "sidecar.json"));
  const direct = results.find((result) => result.name === "direct");
  const swap = results.find((result) => result.name.startsWith("sidecar (intercept"));
  const summary = {
    date: new Date().toISOString(),
    quick,
    counts: COUNTS,
    // The machine is shared: figures mean little without how busy it was.
    cpus: cpus().length,
    loadAverage: { start: loadAtStart, end: loadavg().map((value) => Math.round(value * 100) / 100) },
    results,
    leafMint: mint,
    podEntry,
    addedKeepAliveP50Ms: direct !== undefined && swap !== undefined ? Math.round((swap.c1.p50 - direct.c1.p50) * 1000) / 1000 : undefined,
    rpsShareOfDirectC32: direct !== undefined && swap !== undefined ? Math.round((swap.c32.rps / direct.c32.rps) * 100) / 100 : undefined,
    notes,
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
  stop(): void;
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
  return { port, pid: child.pid, ca: readFileSync(join(confdir, "mitmproxy-ca-cert.pem"), "utf8"), stop: () => child.kill("SIGTERM") };
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
  return { port, pid: child.pid, ca: readFileSync(join(squidDir, "ca.crt"), "utf8"), stop: () => child.kill("SIGTERM") };
}

function printTable(summary: { cpus: number; loadAverage: { start: number[]; end: number[] }; results: Result[]; leafMint: { leafP50Ms: number; contextP50Ms: number }; podEntry: { startMb: number | undefined; settledMb: number | undefined }; addedKeepAliveP50Ms?: number; rpsShareOfDirectC32?: number; notes: string[] }): void {
  const rows = [["target", "c1 p50 ms", "c1 p99 ms", "c1 req/s", "c32 p50 ms", "c32 p99 ms", "c32 req/s", "new conn ms", "CPU ms/req", "start RSS MB", "loaded RSS MB", "idle after load MB"]];
  for (const result of summary.results) {
    rows.push([result.name, result.c1.p50, result.c1.p99, result.c1.rps, result.c32.p50, result.c32.p99, result.c32.rps, result.newConnectionMs, result.cpuMsPerRequest ?? "-", result.idleRssMb ?? "-", result.loadedRssMb ?? "-", result.settledRssMb ?? "-"].map(String));
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | "));
  console.log(`leaf mint p50 ${summary.leafMint.leafP50Ms} ms (with TLS context ${summary.leafMint.contextP50Ms} ms)`);
  console.log(`sidecar/main.js as the pod runs it (bundled, pod flags), idle: start RSS ${String(summary.podEntry.startMb)} MB, after ${SETTLE_MS / 1000} s ${String(summary.podEntry.settledMb)} MB`);
  console.log(`added keep-alive p50 over direct (c1): ${String(summary.addedKeepAliveP50Ms)} ms; sidecar c32 req/s share of direct: ${String(summary.rpsShareOfDirectC32)}`);
  console.log(`load average (1/5/15 min) at start ${summary.loadAverage.start.join(" ")}, at end ${summary.loadAverage.end.join(" ")} on ${summary.cpus} CPUs`);
  for (const note of summary.notes) console.log(`note: ${note}`);
}

try {
  await main();
} finally {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
}
