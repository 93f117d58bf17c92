// Issue #20: the real sidecar/main.ts as a child process, the way a test or an air-gapped
// cluster runs it: every listener on port 0 (the bound ports come back as one JSON line on
// stdout) and a static resolver instead of DNS, driving a swap and refusals through it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { waitFor } from "../../support/wait.js";
import { connectTunnel, containsSecret, rawExchange, requestOver, SECRET, startUpstream, STUB, tlsOver, type Upstream } from "./harness.js";

const repo = resolve(import.meta.dirname, "../../..");
const EVERY_PORT_0 = ["explicit", "transparent-tls", "transparent-http", "admin"].flatMap((flag) => [`--${flag}`, "127.0.0.1:0"]);

interface Started {
  ports: Record<string, unknown>;
  /** Everything the child wrote to stdout so far, one entry a line. */
  lines: string[];
}

let upstream: Upstream;
let dir = "";
const children: ChildProcess[] = [];

function spawnSidecar(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "sidecar/main.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // Resolves (never rejects) so a child stopped in after() leaves no unhandled rejection behind.
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, stderr: () => stderr, exited };
}

async function startSidecar(extra: string[]): Promise<Started> {
  const { child, stderr, exited } = spawnSidecar(["--config", join(dir, "config.json"), ...EVERY_PORT_0, ...extra]);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
  const portsLine = waitFor("the ports line on stdout", () => {
    const line = lines.find((text) => text.startsWith('{"ports"'));
    return line === undefined ? undefined : (JSON.parse(line) as { ports: Record<string, unknown> }).ports;
  }, { timeoutMs: 30_000, intervalMs: 50 });
  const first = await Promise.race([portsLine, exited.then((code) => ({ exitedWith: code }))]);
  if ("exitedWith" in first) throw new Error(`the sidecar exited ${String(first.exitedWith)} before listening: ${stderr()}`);
  return { ports: first, lines };
}

interface LogRecord {
  level?: number;
  refused?: string;
  host?: string;
  audit?: { event?: string; reason?: string; host?: string };
}

function records(lines: string[]): LogRecord[] {
  return lines.filter((line) => line.startsWith("{") && !line.startsWith('{"ports"')).map((line) => JSON.parse(line) as LogRecord);
}

before(async () => {
  upstream = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), "sidecar-main-"));
  await writeFile(join(dir, "secret"), SECRET);
  await writeFile(join(dir, "config.json"), JSON.stringify({
    egress: { allow: ["open.test"], allowPrivate: ["127.0.0.0/8"] },
    credentials: [{ name: "anthropic", stub: STUB, hosts: ["api.test"], inject: { headers: ["x-api-key"] }, source: { file: { path: join(dir, "secret") } } }],
    caDir: dir,
    upstreamCaFile: upstream.caFile,
  }));
});

after(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  }
  await upstream.close();
});

test("--explicit-only with port 0 and --resolve: only the explicit and admin ports, a stub swapped, refusals name the host and the rule", async () => {
  const { ports, lines } = await startSidecar(["--explicit-only", "--resolve", "api.test=127.0.0.1"]);
  assert.deepEqual(Object.keys(ports).sort(), ["admin", "explicit"]);
  const explicit = Number(ports.explicit);
  assert.ok(explicit > 0 && Number(ports.admin) > 0, JSON.stringify(ports));

  // api.test has no DNS: only --resolve makes the upstream reachable.
  const tunnel = await connectTunnel(explicit, `api.test:${upstream.port}`);
  assert.ok("socket" in tunnel, JSON.stringify(tunnel));
  const tls = await tlsOver(tunnel.socket, "api.test", await readFile(join(dir, "ca.crt"), "utf8"));
  const response = await requestOver(tls, { path: "/echo", headers: { host: "api.test", "x-api-key": STUB } });
  tls.destroy();
  assert.equal(response.status, 200);
  assert.equal(upstream.seen.at(-1)?.headers["x-api-key"], SECRET);
  assert.ok(!containsSecret(response.body));

  // A refused CONNECT says why in its status line (clients often show nothing else) and its body.
  const connectRefusal = await rawExchange(explicit, "CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
  assert.match(connectRefusal, /^HTTP\/1\.1 403 evil\.test is not in spec\.egress\.allow \(nor bound to a credential\)\r\n/);
  assert.match(connectRefusal, /\r\n\r\nagentbox sidecar: evil\.test is not in spec\.egress\.allow/);
  // A refused absolute-form request: a short text body naming the host and the rule.
  const httpRefusal = await rawExchange(explicit, "GET http://evil.test/x HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n");
  assert.match(httpRefusal, /^HTTP\/1\.1 403 Forbidden\r\n[^]*content-type: text\/plain[^]*\r\n\r\nagentbox sidecar: evil\.test is not in spec\.egress\.allow \(nor bound to a credential\)\n$/i);
  const badRequest = await rawExchange(explicit, "GET / HTTP/1.1\r\nHost: open.test\r\nConnection: close\r\n\r\n");
  assert.match(badRequest, /^HTTP\/1\.1 400 [^]*\r\n\r\nagentbox sidecar: this is a proxy port/);

  // Their reasons in the log at info (the policy refusals in audit records), never a value.
  const logged = await waitFor("the refusals in the log", () => {
    const parsed = records(lines);
    const audited = parsed.filter((record) => record.audit?.event === "refused" && record.audit.reason?.includes("evil.test is not in spec.egress.allow") === true);
    const badFraming = parsed.find((record) => record.refused === "bad-request" && record.level === 30);
    return audited.length >= 2 && badFraming !== undefined ? parsed : undefined;
  }, { timeoutMs: 5_000, intervalMs: 50 });
  assert.ok(!logged.some((record) => containsSecret(JSON.stringify(record)) || JSON.stringify(record).includes(STUB)));
});

test("every listener on port 0: the ports line names each one and the DNS responder, and --resolve serves the captured TLS path too", async () => {
  const { ports } = await startSidecar(["--dns", "127.0.0.1:0", "--resolve", "api.test=127.0.0.1"]);
  for (const name of ["explicit", "transparentTls", "transparentHttp", "admin"]) assert.ok(Number(ports[name]) > 0, `${name}: ${JSON.stringify(ports)}`);
  const dns = ports.dns as { udp: number; tcp: number };
  assert.ok(dns.udp > 0 && dns.tcp > 0, JSON.stringify(ports));

  // A captured connection names its upstream only by SNI, so the sidecar dials api.test:443,
  // where nothing listens: "could not be reached", not "cannot resolve", shows --resolve answered.
  const socket = netConnect({ host: "127.0.0.1", port: Number(ports.transparentTls) });
  await once(socket, "connect");
  const tls = await tlsOver(socket, "api.test", await readFile(join(dir, "ca.crt"), "utf8"));
  const response = await requestOver(tls, { path: "/", headers: { host: "api.test", connection: "close" } });
  assert.equal(response.status, 502, response.body);
  assert.match(response.body, /the upstream could not be reached \(ECONNREFUSED\)/);
  tls.destroy();
});

test("invalid options exit 2 with what to fix", async () => {
  const { exited, stderr } = spawnSidecar(["--config", join(dir, "config.json"), "--explicit", "localhost:99999", "--resolve", "nope"]);
  assert.equal(await exited, 2);
  assert.match(stderr(), /--explicit: expected ip:port/);
  assert.match(stderr(), /--resolve: expected name=address, got "nope"/);
});
