// Issue #20: the real sidecar/main.ts as a child process, the way a test or an air-gapped
// cluster runs it: every listener on port 0 (the bound ports come back as one JSON line on
// stdout) and a static resolver instead of DNS, driving one swap and two refusals through it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { waitFor } from "../../support/wait.js";
import { connectTunnel, containsSecret, rawExchange, requestOver, SECRET, startUpstream, STUB, tlsOver, type Upstream } from "./harness.js";

const repo = resolve(import.meta.dirname, "../../..");

interface Started {
  child: ChildProcess;
  ports: Record<string, unknown>;
  lines: string[];
}

let upstream: Upstream;
let dir = "";
const children: ChildProcess[] = [];

async function startSidecar(extra: string[]): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "sidecar/main.ts"), "--config", join(dir, "config.json"),
    ...["explicit", "transparent-tls", "transparent-http", "admin"].flatMap((flag) => [`--${flag}`, "127.0.0.1:0"]), ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
  const ports = await waitFor("the ports line on stdout", () => {
    if (child.exitCode !== null) throw new Error(`the sidecar exited ${child.exitCode}: ${stderr}`);
    const line = lines.find((text) => text.startsWith('{"ports"'));
    return line === undefined ? undefined : (JSON.parse(line) as { ports: Record<string, unknown> }).ports;
  }, { timeoutMs: 30_000, intervalMs: 50 });
  return { child, ports, lines };
}

before(async () => {
  upstream = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), "sidecar-main-"));
  await writeFile(join(dir, "secret"), SECRET);
  await writeFile(join(dir, "config.json"), JSON.stringify({
    egress: { allow: ["open.example.test"], allowPrivate: ["127.0.0.0/8"] },
    credentials: [{ name: "anthropic", stub: STUB, hosts: ["api.example.test"], inject: { headers: ["x-api-key"] }, source: { file: { path: join(dir, "secret") } } }],
    caDir: dir,
    upstreamCaFile: upstream.caFile,
  }));
});

after(async () => {
  for (const child of children) {
    if (child.exitCode !== null) continue;
    child.kill("SIGTERM");
    await once(child, "exit");
  }
  await upstream.close();
});

test("port 0 and --resolve: the ports line names every listener, and a stub is swapped through the real process", async () => {
  const { ports, lines } = await startSidecar(["--dns", "127.0.0.1:0", "--resolve", "api.example.test=127.0.0.1"]);
  for (const name of ["explicit", "transparentTls", "transparentHttp", "admin"]) assert.ok(Number(ports[name]) > 0, `${name}: ${JSON.stringify(ports)}`);
  assert.ok(Number((ports.dns as { udp: number }).udp) > 0);
  const explicit = Number(ports.explicit);

  const tunnel = await connectTunnel(explicit, `api.example.test:${upstream.port}`);
  assert.ok("socket" in tunnel, JSON.stringify(tunnel));
  const tls = await tlsOver(tunnel.socket, "api.example.test", await readFile(join(dir, "ca.crt"), "utf8"));
  const response = await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", "x-api-key": STUB } });
  tls.destroy();
  assert.equal(response.status, 200);
  assert.equal(upstream.seen.at(-1)?.headers["x-api-key"], SECRET);
  assert.ok(!containsSecret(response.body));

  // A refused CONNECT says why in its status line (host and rule), and the log says it at info.
  const refused = await rawExchange(explicit, "CONNECT evil.example.test:443 HTTP/1.1\r\nHost: evil.example.test:443\r\n\r\n");
  assert.match(refused, /^HTTP\/1\.1 403 evil\.example\.test is not in this session's egress allow-list\r\n/);
  const badRequest = await rawExchange(explicit, "GET / HTTP/1.1\r\nHost: open.example.test\r\nConnection: close\r\n\r\n");
  assert.match(badRequest, /^HTTP\/1\.1 400 [^]*\r\n\r\nagentbox sidecar: this is a proxy port/);
  const records = await waitFor("both refusals in the log", () => {
    const parsed = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as { level?: number; refused?: string; audit?: { reason?: string } });
    const audited = parsed.find((record) => record.audit?.reason?.includes("evil.example.test") === true);
    const logged = parsed.find((record) => record.refused === "bad-request" && record.level === 30);
    return audited !== undefined && logged !== undefined ? parsed : undefined;
  }, { timeoutMs: 5_000, intervalMs: 50 });
  assert.ok(!records.some((record) => containsSecret(JSON.stringify(record))));
});

test("--explicit-only starts no transparent listeners and no DNS responder", async () => {
  const { ports } = await startSidecar(["--explicit-only", "--resolve", "api.example.test=127.0.0.1"]);
  assert.deepEqual(Object.keys(ports).sort(), ["admin", "explicit"]);
});

test("invalid options are refused at start-up with what to fix", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "sidecar/main.ts"), "--config", join(dir, "config.json"), "--explicit", "localhost:99999", "--resolve", "nope"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 1);
  assert.match(stderr, /--explicit: expected ip:port/);
  assert.match(stderr, /--resolve\.0: expected name=address/);
});
