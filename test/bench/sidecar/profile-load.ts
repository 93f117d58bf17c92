// A steady load on the sidecar for profiling and syscall counts, not a bench (no reference
// targets, no figures to quote): the bundled sidecar with the pod's flags, the bench's upstream
// and the bench's request, at one concurrency, for a number of requests.
//   node --import tsx test/bench/sidecar/profile-load.ts [--proxy sidecar|squid] [--concurrency 1] [--requests 5000] [--pause-ms 0]
// PROFILE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p" adds node flags to the sidecar. The
// proxy's pid is printed before the load starts; `--pause-ms` leaves time to attach `strace -c`.
// A/B of node flags: `--variants="<flags A>|<flags B>" [--slices 10]` (with "=", as the flags
// start with a dash) starts one sidecar per variant ("" = the pod's flags alone) and gives each
// `--requests` per slice in alternating slices (A B, B A, ...), so both see the same machine;
// prints requests/s, CPU ms per request and p50 latency per variant. This machine's CPU speed
// drifts by ±20 % over seconds: one sequential run per variant cannot tell a 10 % change.
// A variant whose first word is `bundle=<file.mjs>` runs that bundle of sidecar-process.ts
// instead of this tree's (an A/B of code: bundle the other tree with test/bench/bundle.ts).
// Run it under `flock /tmp/agentbox-bench.lock` like any bench.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { SIDECAR_NODE_FLAGS } from "../../../sidecar/node-flags.js";
import { bundle } from "../bundle.js";
import { Connection, SECRET, STUB, viaProxy } from "./client.js";
import { canConnect, freePort } from "./ports.js";

const repo = resolve(import.meta.dirname, "../../..");
const { values: args } = parseArgs({
  options: {
    proxy: { type: "string", default: "sidecar" },
    concurrency: { type: "string", default: "1" },
    requests: { type: "string", default: "5000" },
    "pause-ms": { type: "string", default: "0" },
    variants: { type: "string" },
    slices: { type: "string", default: "10" },
  },
});
const children: ChildProcess[] = [];

async function startChild(command: string, argv: string[], ready: { line: true } | { port: number }): Promise<{ child: ChildProcess; line?: string }> {
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"], cwd: repo });
  children.push(child);
  if ("line" in ready) {
    // The ports are the first line that is JSON; every other line (a --trace-* flag's output,
    // before or after it) goes to stderr.
    const line = await new Promise<string>((done, fail) => {
      let buffered: string | undefined = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        if (buffered === undefined) {
          process.stderr.write(chunk);
          return;
        }
        buffered += String(chunk);
        let end = buffered.indexOf("\n");
        while (end >= 0 && !buffered.startsWith("{")) {
          process.stderr.write(buffered.slice(0, end + 1));
          buffered = buffered.slice(end + 1);
          end = buffered.indexOf("\n");
        }
        if (end < 0) return;
        done(buffered.slice(0, end));
        process.stderr.write(buffered.slice(end + 1));
        buffered = undefined;
      });
      child.once("exit", () => fail(new Error(`${command} exited before printing its ports`)));
    });
    return { child, line };
  }
  child.stdout?.resume();
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(ready.port))) {
    if (Date.now() > deadline) throw new Error(`${command} did not open port ${ready.port}`);
    await new Promise((wake) => setTimeout(wake, 100));
  }
  return { child };
}



/** Sends `count` requests one after another on `connection`; each one's time (ms) goes to `latencies`. */
async function requests(connection: Connection, count: number, latencies?: number[]): Promise<void> {
  for (let index = 0; index < count; index++) {
    const ms = await connection.request();
    latencies?.push(ms);
  }
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${String(pid)}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startSquid(dir: string, upstreamCa: string): Promise<Proxy> {
  const port = await freePort();
  const squidDir = join(dir, "squid");
  mkdirSync(squidDir, { recursive: true });
  const run = (command: string, argv: string[]): void => {
    if (spawnSync(command, argv).status !== 0) throw new Error(`${command} failed`);
  };
  run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-x509", "-days", "2", "-subj", "/CN=squid profile CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", join(squidDir, "ca.key"), "-out", join(squidDir, "ca.crt")]);
  run("/usr/lib/squid/security_file_certgen", ["-c", "-s", join(squidDir, "ssl_db"), "-M", "16MB"]);
  run("chown", ["-R", "proxy:proxy", squidDir]);
  writeFileSync(join(squidDir, "squid.conf"), [
    `http_port 127.0.0.1:${port} ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-cert=${join(squidDir, "ca.crt")} tls-key=${join(squidDir, "ca.key")}`,
    `sslcrtd_program /usr/lib/squid/security_file_certgen -s ${join(squidDir, "ssl_db")} -M 16MB`,
    "sslcrtd_children 4 startup=1 idle=1", "ssl_bump bump all", `tls_outgoing_options cafile=${upstreamCa}`,
    "request_header_access X-Api-Key deny all", `request_header_replace X-Api-Key ${SECRET}`,
    "http_access allow localhost", "http_access deny all", "cache deny all", "access_log none",
    `cache_log ${join(squidDir, "cache.log")}`, `pid_filename ${join(squidDir, "squid.pid")}`, `coredump_dir ${squidDir}`,
    "cache_effective_user proxy", "shutdown_lifetime 0 seconds", "",
  ].join("\n"));
  const { child } = await startChild("/usr/sbin/squid", ["-N", "-f", join(squidDir, "squid.conf")], { port });
  return { port, pid: child.pid, ca: readFileSync(join(squidDir, "ca.crt"), "utf8") };
}

interface Proxy {
  port: number;
  pid: number | undefined;
  ca: string;
}

/** The bundled sidecar (or a variant's `bundle=`) with the pod's flags and the variant's, its CA and config under `dir` with `name`. */
async function startSidecar(dir: string, name: string, variant: string[]): Promise<Proxy> {
  const other = variant[0]?.startsWith("bundle=") === true ? variant[0].slice("bundle=".length) : undefined;
  const extra = other === undefined ? variant : variant.slice(1);
  const caDir = join(dir, `ca${name}`);
  const config = join(dir, `sidecar${name}.json`);
  mkdirSync(caDir, { recursive: true });
  writeFileSync(config, JSON.stringify({
    egress: { allow: [], allowPrivate: ["127.0.0.0/8"] },
    credentials: [{ name: "bench", stub: STUB, hosts: ["localhost"], inject: { headers: ["x-api-key"] }, source: { file: { path: join(dir, "secret") } } }],
    caDir,
    upstreamCaFile: join(dir, "upstream-ca.crt"),
  }));
  if (other !== undefined && !existsSync(other)) throw new Error(`${other}: no such bundle`);
  const script = other ?? join(dir, "sidecar-process.mjs");
  if (!existsSync(script)) bundle(join(repo, "test/bench/sidecar/sidecar-process.ts"), script);
  const sidecar = await startChild(process.execPath, [...SIDECAR_NODE_FLAGS, ...extra, script, config], { line: true });
  return { port: (JSON.parse(sidecar.line ?? "{}") as { explicit: number }).explicit, pid: sidecar.child.pid, ca: readFileSync(join(caDir, "ca.crt"), "utf8") };
}

/** One sidecar per variant (extra node flags, or another bundle), loaded in alternating slices (see the header). */
async function compareVariants(dir: string, target: string, variants: string[][]): Promise<void> {
  const concurrency = Number(args.concurrency);
  const perSlice = Number(args.requests);
  const runs = [];
  for (const [index, flags] of variants.entries()) {
    const proxy = await startSidecar(dir, String(index), flags);
    const clients = await Promise.all(Array.from({ length: concurrency }, async () => new Connection(await viaProxy(proxy.port, target, "localhost", proxy.ca), target)));
    await Promise.all(clients.map((client) => requests(client, 50)));
    runs.push({ flags, proxy, clients, seconds: 0, cpuMs: 0, requests: 0, latencies: [] as number[] });
  }
  for (let slice = 0; slice < Number(args.slices); slice++) {
    for (const run of slice % 2 === 0 ? runs : [...runs].reverse()) {
      const cpuBefore = cpuMs(run.proxy.pid);
      const started = performance.now();
      await Promise.all(run.clients.map((client) => requests(client, Math.ceil(perSlice / concurrency), run.latencies)));
      run.seconds += (performance.now() - started) / 1000;
      run.cpuMs += cpuMs(run.proxy.pid) - cpuBefore;
      run.requests += Math.ceil(perSlice / concurrency) * concurrency;
    }
  }
  for (const run of runs) {
    const sorted = [...run.latencies].sort((a, b) => a - b);
    console.log(JSON.stringify({
      flags: run.flags.join(" ") || "(pod flags only)",
      concurrency,
      requests: run.requests,
      rps: Math.round(run.requests / run.seconds),
      cpuMsPerRequest: Math.round((run.cpuMs / run.requests) * 1000) / 1000,
      p50Ms: Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 1000) / 1000,
    }));
    for (const client of run.clients) client.close();
  }
}

async function main(): Promise<void> {
  const dir = join(repo, ".bench/sidecar-profile", `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777); // squid runs as "proxy" and reads the upstream CA from here
  const upstreamCa = await CertificateAuthority.create();
  const leaf = await upstreamCa.mintLeaf("localhost");
  writeFileSync(join(dir, "upstream.crt"), leaf.certificatePem);
  writeFileSync(join(dir, "upstream.key"), leaf.keyPem);
  writeFileSync(join(dir, "upstream-ca.crt"), upstreamCa.certificatePem);
  writeFileSync(join(dir, "secret"), SECRET);
  const upstream = await startChild(process.execPath, ["--import", "tsx", join(repo, "test/bench/sidecar/upstream.ts"), join(dir, "upstream.crt"), join(dir, "upstream.key")], { line: true });
  const target = `localhost:${(JSON.parse(upstream.line ?? "{}") as { port: number }).port}`;
  if (args.variants !== undefined) {
    await compareVariants(dir, target, args.variants.split("|").map((variant) => variant.split(" ").filter((arg) => arg !== "")));
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  let proxy: Proxy;
  if (args.proxy === "squid") {
    proxy = await startSquid(dir, join(dir, "upstream-ca.crt"));
  } else {
    proxy = await startSidecar(dir, "", (process.env.PROFILE_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== ""));
  }
  const concurrency = Number(args.concurrency);
  const total = Number(args.requests);
  const clients = await Promise.all(Array.from({ length: concurrency }, async () => new Connection(await viaProxy(proxy.port, target, "localhost", proxy.ca), target)));
  await Promise.all(clients.map((client) => requests(client, 20)));
  console.log(JSON.stringify({ proxyPid: proxy.pid }));
  await new Promise((wake) => setTimeout(wake, Number(args["pause-ms"])));
  const cpuBefore = cpuMs(proxy.pid);
  const started = performance.now();
  await Promise.all(clients.map((client) => requests(client, Math.ceil(total / concurrency))));
  const seconds = (performance.now() - started) / 1000;
  const cpuPerRequest = Math.round(((cpuMs(proxy.pid) - cpuBefore) / total) * 1000) / 1000;
  console.log(JSON.stringify({ proxy: args.proxy, concurrency, requests: total, seconds: Math.round(seconds * 1000) / 1000, rps: Math.round(total / seconds), cpuMsPerRequest: cpuPerRequest, load: loadavg()[0] }));
  for (const client of clients) client.close();
  rmSync(dir, { recursive: true, force: true });
}

try {
  await main();
} finally {
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  }
}
