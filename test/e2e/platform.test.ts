// Issue 5's acceptance on the real cluster, with the platform installed by its Helm chart:
// 1 an agent uses a credential it cannot see; 3 `agentbox run` returns the agent's exit code;
// 4 uninstalling leaves nothing behind. The tests run in this order and share one release.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../support/wait.js";
import { connect, createNamespace, exec, isNotFound, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import {
  addHosts,
  agentUserToken,
  deleteNamespaceAndWait,
  installPlatform,
  loadImages,
  NODE_ADDRESS,
  RELEASE,
  ROOT,
  SESSION_API_URL,
  startNodeUpstream,
  startUdpSink,
  SYSTEM_NAMESPACE,
  UPSTREAM_CA_CONFIGMAP,
  type NodeUpstream,
  type SeenRequest,
  type Platform,
} from "./support/platform.js";

const GROUP = "agentbox.dev";
const VERSION = "v1alpha1";
const BOUND = "upstream.agentbox.test";
const UNBOUND = "other.agentbox.test";
// Random per run, so a match can only come from this run's Secret.
const REAL = `real-${randomBytes(24).toString("hex")}`;

let cluster: Cluster;
let platform: Platform | undefined;
let ns: string;
let upstream: NodeUpstream | undefined;
let removeHosts: (() => Promise<void>) | undefined;
const sessionNames: string[] = [];

interface Session {
  status?: { phase?: string; podName?: string; exitCode?: number; message?: string };
}

function custom(): k8s.CustomObjectsApi {
  return cluster.kc.makeApiClient(k8s.CustomObjectsApi);
}

async function readSession(name: string): Promise<Session | undefined> {
  try {
    return (await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agentsessions", name })) as Session;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

before(async () => {
  cluster = connect();
  await loadImages();
  ns = await createNamespace(cluster, "platform-e2e");
  platform = await installPlatform(cluster, ns);
  upstream = await startNodeUpstream();
  removeHosts = await addHosts([BOUND, UNBOUND]);
});

after(async () => {
  await upstream?.close();
  await removeHosts?.();
  // Normally acceptance 4 has already removed both; this covers a failure before it.
  await platform?.uninstall().catch(() => undefined);
  if (ns) await deleteNamespaceAndWait(cluster, ns).catch(() => undefined);
});

test("acceptance 1: the agent uses its credential through the sidecar and never sees it", { timeout: 600_000 }, async () => {
  assert.ok(upstream);
  await cluster.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: UPSTREAM_CA_CONFIGMAP }, data: { "ca.crt": upstream.caPem } } });
  await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "upstream-token" }, stringData: { token: REAL } } });
  const name = "secure";
  sessionNames.push(name);
  await custom().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: "agentsessions",
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "AgentSession",
      metadata: { name },
      spec: {
        agent: { image: SHELL_IMAGE, command: ["sleep", "3600"], tty: false },
        credentials: [{ name: "upstream", env: "UPSTREAM_TOKEN", hosts: [BOUND], inject: { headers: ["authorization"] }, source: { secretKeyRef: { name: "upstream-token", key: "token" } } }],
        // The upstream sits on the node's private address, refused unless allowed explicitly.
        egress: { allow: [BOUND, UNBOUND], allowPrivate: [`${NODE_ADDRESS}/32`] },
      },
    },
  });
  const session = await waitFor(
    `session ${ns}/${name} Running`,
    async () => {
      const s = await readSession(name);
      if (s?.status?.phase === "Failed") throw new Error(`session failed: ${s.status.message ?? ""}`);
      return s?.status?.phase === "Running" && s.status.podName ? s : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  const agent = { namespace: ns, pod: session.status!.podName!, container: "agent" };
  const sh = (script: string, stdin?: string): ReturnType<typeof exec> => exec(cluster, agent, ["bash", "-c", script], { timeoutMs: 180_000, ...(stdin === undefined ? {} : { stdin }) });

  const stub = (await sh('printf %s "$UPSTREAM_TOKEN"')).stdout;
  assert.ok(stub.length >= 16, `the agent holds a stub (got ${JSON.stringify(stub)})`);
  assert.notEqual(stub, REAL);

  // Through the explicit proxy (curl honours HTTPS_PROXY); waits for CoreDNS to load the hosts file.
  const viaProxy = await waitFor(
    "the agent reaches the upstream through the proxy",
    async () => {
      const r = await sh(`curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "authorization: Bearer $UPSTREAM_TOKEN" https://${BOUND}/proxy`);
      return r.stdout === "200" ? r : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  assert.equal(viaProxy.stdout, "200");
  const direct = await sh(`curl -sS --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code}' -H "authorization: Bearer $UPSTREAM_TOKEN" https://${BOUND}/direct`);
  assert.equal(direct.stdout, "200", `curl ignoring the proxy is captured: ${direct.stderr}`);
  const nodeFetch = await sh(`node -e 'fetch("https://${BOUND}/fetch", { headers: { authorization: "Bearer " + process.env.UPSTREAM_TOKEN } }).then((r) => console.log(r.status), (e) => { console.error(e.cause ?? e); process.exit(3); })'`);
  assert.equal(nodeFetch.stdout.trim(), "200", `Node fetch (ignores HTTPS_PROXY) is captured: ${nodeFetch.stderr}`);
  for (const path of ["/proxy", "/direct", "/fetch"]) {
    const seen: SeenRequest[] = upstream.seen.filter((r: SeenRequest) => r.url === path);
    assert.deepEqual(seen.map((r) => [r.servername, r.authorization]), [[BOUND, `Bearer ${REAL}`]], `the upstream received ${path} once, with the real value`);
  }
  // The stub towards an allowed host it is not bound to is refused where the sidecar sees it:
  // plain HTTP, through the proxy (absolute form) and captured (port 80).
  for (const [how, flags] of [["proxy", ""], ["captured", "--noproxy '*'"]] as const) {
    const r = await sh(`curl -sS --max-time 10 ${flags} -o /dev/null -w '%{http_code}' -H "authorization: Bearer $UPSTREAM_TOKEN" http://${UNBOUND}/leak-${how}`);
    assert.equal(r.stdout, "403", `the stub to an unbound host (${how}) is refused: ${r.stderr}`);
  }
  assert.deepEqual(upstream.seen.filter((r) => r.url.startsWith("/leak")), [], "no request carrying the stub reached the unbound host");
  // HTTPS to an allowed host without a credential is tunnelled, not intercepted (sidecar/tls-stream.ts):
  // the sidecar cannot see the stub there. What matters is that the real value never goes there.
  const tunnelled = await sh(`curl -sS -k --max-time 10 -o /dev/null -w '%{http_code}' -H "authorization: Bearer $UPSTREAM_TOKEN" https://${UNBOUND}/tunnelled`);
  assert.equal(tunnelled.stdout, "200", `tunnelled: ${tunnelled.stderr}`);
  assert.deepEqual(upstream.seen.filter((r) => r.url === "/tunnelled").map((r) => r.authorization), [`Bearer ${stub}`], "the unbound host gets the stub at most, never the real value");

  // The scans read the value on stdin and match through a pipe, so it is in no argv and no file.
  const pattern = `read -r V; P() { printf '%s\\n' "$V"; }`;
  const fsScan = await sh(`${pattern}; grep -rlF -f <(P) --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev / 2>/dev/null; echo "done:$?"`, `${REAL}\n`);
  // grep exits 2 when some file is unreadable to the agent's uid: what matters is what it can read.
  assert.match(fsScan.stdout, /^done:[12]\s*$/, `the real value is in no file the agent can read: ${fsScan.stdout}`);
  const procScan = `${pattern}; n=0; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do grep -qaF -f <(P) "$f" 2>/dev/null && { echo "$f"; n=$((n+1)); }; done; echo "hits:$n"`;
  assert.match((await sh(procScan, `${REAL}\n`)).stdout, /^hits:0\s*$/, "the real value is in no process's environment or command line");
  assert.match((await sh(procScan, `${stub}\n`)).stdout, /hits:[1-9]/, "the same scan finds the stub (the scan works)");
  const psScan = await sh(`${pattern}; for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline 2>/dev/null; echo; done | grep -cF -f <(P)`, `${REAL}\n`);
  assert.equal(psScan.stdout.trim(), "0", "the real value is in no process list entry");
  assert.equal((await sh(`${pattern}; env | grep -cF -f <(P)`, `${REAL}\n`)).stdout.trim(), "0", "the real value is not in the agent's env");

  // A UDP datagram out is dropped: a receiver on the node gets nothing while the same socket path
  // from the host works. There is no event for "not delivered": the window is one full round trip
  // through the proxy after the sends.
  const sink = await startUdpSink();
  try {
    const { createSocket } = await import("node:dgram");
    const probe = createSocket("udp4");
    probe.send("control", sink.port, NODE_ADDRESS);
    await waitFor("the control datagram from the host", () => (sink.received() >= 1 ? true : undefined), { timeoutMs: 5000 });
    probe.close();
    const sent = await sh(`for i in 1 2 3 4 5; do echo hi > /dev/udp/${NODE_ADDRESS}/${sink.port} || echo fail; done; echo sent`);
    assert.match(sent.stdout, /sent/);
    await sh(`curl -sS --max-time 10 -o /dev/null https://${BOUND}/after-udp`);
    assert.equal(sink.received(), 1, "no datagram from the agent arrived");
  } finally {
    await sink.close();
  }

  const token = await sh("ls /var/run/secrets/kubernetes.io 2>&1; test ! -e /var/run/secrets/kubernetes.io");
  assert.equal(token.exitCode, 0, `the agent has no service-account token: ${token.stdout}`);
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function agentboxCli(args: string[], token: string): Promise<CliResult> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", AGENTBOX_URL: SESSION_API_URL, AGENTBOX_NAMESPACE: ns, AGENTBOX_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr })));
}

test("acceptance 3: `agentbox run` returns the agent's exit code and removes its session", { timeout: 420_000 }, async () => {
  const token = await agentUserToken(cluster, ns, "ci");
  sessionNames.push("run-ok", "run-seven");
  const results = await Promise.all([
    agentboxCli(["run", "-t", "shell-batch", "--name", "run-ok", "--timeout", "5m", "--", "bash", "-c", "echo all good; exit 0"], token),
    agentboxCli(["run", "-t", "shell-batch", "--name", "run-seven", "--timeout", "5m", "--", "bash", "-c", "echo failing; exit 7"], token),
  ]);
  const [ok, seven] = results;
  assert.equal(ok!.code, 0, `exit 0 expected: ${ok!.stderr}`);
  assert.match(ok!.stdout, /all good/);
  assert.equal(seven!.code, 7, `exit 7 expected: ${seven!.stderr}`);
  assert.match(seven!.stdout, /failing/);
  for (const name of ["run-ok", "run-seven"]) {
    assert.equal(await readSession(name), undefined, `session ${name} is gone`);
    const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `agentbox.dev/session=${name}` });
    assert.deepEqual(pods.items.map((p) => p.metadata?.name), [], `no pod of ${name} is left`);
  }
});

test("acceptance 4: uninstalling the chart and deleting the namespaces leaves no agentbox object", { timeout: 420_000 }, async () => {
  assert.ok(platform);
  await platform.uninstall();
  await deleteNamespaceAndWait(cluster, ns, 240_000);
  platform = undefined;
  // Other engineers' e2e tests share this cluster: look everywhere for what this run created.
  const mine = (labels: Record<string, string> | undefined): boolean =>
    labels?.["app.kubernetes.io/instance"] === RELEASE || sessionNames.includes(labels?.["agentbox.dev/session"] ?? "") && labels?.["app.kubernetes.io/managed-by"] === "agentbox";
  const inMine = (o: k8s.KubernetesObject): boolean => o.metadata?.namespace === ns || o.metadata?.namespace === SYSTEM_NAMESPACE;
  const pods = await cluster.core.listPodForAllNamespaces({ labelSelector: "app.kubernetes.io/managed-by=agentbox" });
  assert.deepEqual(pods.items.filter(inMine).map((p) => p.metadata?.name), [], "no agentbox pod left");
  const secrets = await cluster.core.listSecretForAllNamespaces({ labelSelector: "app.kubernetes.io/managed-by=agentbox" });
  assert.deepEqual(secrets.items.filter(inMine).map((s) => s.metadata?.name), [], "no agentbox secret left");
  for (const plural of ["agentsessions", "agenttemplates"]) {
    const list = (await custom().listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: k8s.KubernetesObject[] };
    assert.deepEqual(list.items.filter(inMine).map((o) => o.metadata?.name), [], `no ${plural} left`);
  }
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const roles = await rbac.listClusterRole();
  assert.deepEqual(roles.items.filter((r) => mine(r.metadata?.labels) || r.metadata?.name?.startsWith("agentbox-")).map((r) => r.metadata?.name), [], "no ClusterRole of the chart left");
  const bindings = await rbac.listClusterRoleBinding();
  assert.deepEqual(bindings.items.filter((b) => mine(b.metadata?.labels) || b.metadata?.name?.startsWith("agentbox-")).map((b) => b.metadata?.name), [], "no ClusterRoleBinding of the chart left");
  for (const name of [ns, SYSTEM_NAMESPACE]) {
    await assert.rejects(cluster.core.readNamespace({ name }), (e: unknown) => isNotFound(e), `namespace ${name} is gone`);
  }
});
