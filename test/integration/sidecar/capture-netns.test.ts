// Acceptance 2: inside a network namespace with the capture rules installed, a client that
// ignores proxy variables is still captured and swapped, and its UDP goes nowhere. Two
// namespaces of our own joined by a veth pair in 198.18.0.0/30 (the benchmarking range).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { captureCommand, DEFAULT_CAPTURE } from "../../../sidecar/capture.js";

const isRoot = process.getuid?.() === 0;
const hasIp = spawnSync("ip", ["-V"]).status === 0 && spawnSync("iptables-restore", ["--version"]).status === 0;
const skip = !isRoot ? "needs root (network namespaces and iptables)" : !hasIp ? "needs iproute2 and iptables" : false;

const SECRET = "sk-ant-api03-" + "NETNSreal-0123456789abcdefghijklmnopqrstuv";
const STUB = "sk-ant-api03-" + "NETNSstub-9876543210zyxwvutsrqponmlkjihgfe";
const tag = `${process.pid % 100000}`;
const CLIENT_NS = `abxc${tag}`;
const UPSTREAM_NS = `abxu${tag}`;
const repo = resolve(import.meta.dirname, "../../..");
const children: ChildProcess[] = [];
let dir = "";

function run(command: string, args: string[], options: { input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: "utf8", input: options.input, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function must(command: string, args: string[]): void {
  const result = run(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
}

/** Starts a long-running process and waits for a line on its stdout. */
async function startUntil(args: string[], marker: RegExp): Promise<ChildProcess> {
  const child = spawn(args[0] ?? "", args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  await new Promise<void>((resolvePromise, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (marker.test(output)) resolvePromise();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${String(code)}: ${output}`)));
  });
  return child;
}

/** Runs a command in the client namespace as an agent (uid 1000), without any proxy variables. */
function asAgent(command: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const envArgs = Object.entries({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", ...env }).map(([key, value]) => `${key}=${value}`);
  return run("ip", ["netns", "exec", CLIENT_NS, "setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups", "env", "-i", ...envArgs, ...command]);
}

before(async () => {
  if (skip !== false) return;
  dir = await mkdtemp(join(tmpdir(), "sidecar-netns-"));
  await chmod(dir, 0o755);
  must("ip", ["netns", "add", CLIENT_NS]);
  must("ip", ["netns", "add", UPSTREAM_NS]);
  must("ip", ["link", "add", `abxc${tag}v`, "type", "veth", "peer", "name", `abxu${tag}v`]);
  must("ip", ["link", "set", `abxc${tag}v`, "netns", CLIENT_NS]);
  must("ip", ["link", "set", `abxu${tag}v`, "netns", UPSTREAM_NS]);
  for (const [ns, link, address] of [[CLIENT_NS, `abxc${tag}v`, "198.18.0.1/30"], [UPSTREAM_NS, `abxu${tag}v`, "198.18.0.2/30"]] as const) {
    must("ip", ["-n", ns, "link", "set", "lo", "up"]);
    must("ip", ["-n", ns, "addr", "add", address, "dev", link]);
    must("ip", ["-n", ns, "link", "set", link, "up"]);
  }
  // `ip netns exec` mounts /etc/netns/<ns>/hosts over /etc/hosts: our names, inside the namespace only.
  await mkdir(`/etc/netns/${CLIENT_NS}`, { recursive: true });
  await writeFile(`/etc/netns/${CLIENT_NS}/hosts`, "127.0.0.1 localhost\n198.18.0.2 api.example.test open.example.test\n");

  const upstreamCa = await CertificateAuthority.create();
  const leaf = await upstreamCa.mintLeaf("api.example.test");
  await writeFile(join(dir, "upstream.crt"), leaf.certificatePem);
  await writeFile(join(dir, "upstream.key"), leaf.keyPem);
  await writeFile(join(dir, "upstream-ca.crt"), upstreamCa.certificatePem);
  await writeFile(join(dir, "secret"), SECRET);
  await mkdir(join(dir, "ca"), { mode: 0o777 });
  await chmod(join(dir, "ca"), 0o777);
  await writeFile(join(dir, "config.json"), JSON.stringify({
    egress: { allow: ["open.example.test"], allowPrivate: ["198.18.0.0/15"] },
    credentials: [{ name: "anthropic", stub: STUB, hosts: ["api.example.test"], inject: { headers: ["x-api-key"] }, source: { file: { path: join(dir, "secret") } } }],
    caDir: join(dir, "ca"),
    upstreamCaFile: join(dir, "upstream-ca.crt"),
  }));
  for (const file of ["upstream.key", "secret", "config.json", "upstream-ca.crt", "upstream.crt"]) await chmod(join(dir, file), 0o644);

  await startUntil(["ip", "netns", "exec", UPSTREAM_NS, process.execPath, "--import", "tsx", join(repo, "test/integration/sidecar/fixtures/netns-upstream.ts"), join(dir, "upstream.crt"), join(dir, "upstream.key")], /listening/);
  await startUntil(
    ["ip", "netns", "exec", CLIENT_NS, "setpriv", "--reuid", "1337", "--regid", "1337", "--clear-groups", "env", "HOME=/tmp",
      process.execPath, "--import", "tsx", join(repo, "sidecar/main.ts"), "--config", join(dir, "config.json")],
    /sidecar ready/,
  );
  // The very command the operator gives the pod's init container.
  must("ip", ["netns", "exec", CLIENT_NS, ...captureCommand(DEFAULT_CAPTURE)]);
});

after(async () => {
  if (process.env.NETNS_DEBUG !== undefined) {
    for (const args of [["iptables", "-t", "nat", "-L", "-v", "-n"], ["iptables", "-L", "-v", "-n"], ["ss", "-ltnup"]]) {
      console.log(run("ip", ["netns", "exec", CLIENT_NS, ...args]).stdout);
    }
  }
  for (const child of children) child.kill("SIGTERM");
  if (skip !== false) return;
  run("ip", ["netns", "del", CLIENT_NS]);
  run("ip", ["netns", "del", UPSTREAM_NS]);
  await rm(`/etc/netns/${CLIENT_NS}`, { recursive: true, force: true });
  // Leave no /etc/netns behind if this test created it.
  await rmdir("/etc/netns").catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

test("Node fetch, which ignores HTTPS_PROXY, is captured and swapped", { skip }, () => {
  const script = `fetch("https://api.example.test/echo", { headers: { "x-api-key": "${STUB}" } }).then(async (r) => console.log(r.status, await r.text()), (e) => { console.log("error", e.cause?.code ?? e.message); })`;
  const result = asAgent([process.execPath, "-e", script], { NODE_EXTRA_CA_CERTS: join(dir, "ca", "ca.crt") });
  assert.match(result.stdout, /^200 /, result.stdout + result.stderr);
  const echoed = JSON.parse(result.stdout.slice(4)) as { headers: Record<string, string> };
  // The upstream saw the real value; the agent got its reflection back as the stub.
  assert.equal(echoed.headers["x-api-key"], STUB);
  assert.ok(!result.stdout.includes(SECRET));
});

test("curl --noproxy '*' is captured and swapped", { skip }, () => {
  const result = asAgent(["curl", "--noproxy", "*", "-sS", "--cacert", join(dir, "ca", "ca.crt"), "-H", `x-api-key: ${STUB}`, "https://api.example.test/echo"]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /"x-api-key":"sk-ant-api03-NETNSstub/);
  assert.ok(!result.stdout.includes(SECRET));
});

test("the upstream really received the real value (the agent's own view is scrubbed)", { skip }, () => {
  // The agent's view is scrubbed, so ask the upstream as uid 1337, which is not captured.
  const result = run("ip", ["netns", "exec", CLIENT_NS, "setpriv", "--reuid", "1337", "--regid", "1337", "--clear-groups",
    "curl", "-sS", "--cacert", join(dir, "upstream-ca.crt"), "https://api.example.test/last"]);
  assert.equal(JSON.parse(result.stdout), SECRET, result.stderr);
});

test("UDP out (QUIC, direct DNS elsewhere) is dropped; other TCP ports are reset", { skip }, () => {
  const udp = `const s = require("dgram").createSocket("udp4"); s.send("x", 443, "198.18.0.2", (e) => { console.log(e ? e.code : "sent"); s.close(); });`;
  assert.equal(asAgent([process.execPath, "-e", udp]).stdout.trim(), "EPERM");
  const tcp = `require("net").connect(8443, "198.18.0.2").on("error", (e) => console.log(e.code)).on("connect", () => console.log("connected"))`;
  assert.equal(asAgent([process.execPath, "-e", tcp]).stdout.trim(), "ECONNREFUSED");
});

test("connections from outside the pod (the kubelet's probes of the admin port) are answered every time", { skip }, () => {
  // Each probe is a new connection closed at once: the packets without an owning socket that
  // follow used to be rejected by the capture rules, resetting about one probe in two.
  const probes = `const http = require("http"); let ok = 0, failed = [];
    const one = (i) => i === 200 ? console.log(JSON.stringify({ ok, failed: failed.slice(0, 3) })) :
      http.get({ host: "198.18.0.1", port: 15021, path: "/healthz", agent: false, headers: { connection: "close" } }, (r) => { r.resume(); r.on("end", () => { ok += r.statusCode === 200 ? 1 : 0; one(i + 1); }); })
        .on("error", (e) => { failed.push(e.code); one(i + 1); });
    one(0);`;
  const result = run("ip", ["netns", "exec", UPSTREAM_NS, process.execPath, "-e", probes]);
  assert.deepEqual(JSON.parse(result.stdout), { ok: 200, failed: [] });
});

test("DNS to any server is answered by the sidecar: allowed names only", { skip }, () => {
  const dns = `const r = new (require("dns").promises.Resolver)({ timeout: 3000, tries: 1 }); r.setServers(["198.18.0.2"]);
    Promise.allSettled([r.resolve4("api.example.test"), r.resolve4("evil.example.test")]).then((x) => console.log(JSON.stringify(x.map((y) => y.value ?? y.reason.code))));`;
  assert.deepEqual(JSON.parse(asAgent([process.execPath, "-e", dns]).stdout), [["198.18.0.2"], "ENOTFOUND"]);
});
