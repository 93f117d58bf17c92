// A burst of terminals through the cluster code paths (TokenReview, SubjectAccessReview and the
// custom-object store against the loopback stand-in API server): every connection is still
// authenticated and authorized, but one token is reviewed once, one person's right to open
// terminals in a namespace once (a namespace-wide review), and a refused token is refused every
// time.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { WebSocket } from "ws";
import { clusterAuthenticator } from "../../../session-api/auth/kubernetes.js";
import { clusterBackend } from "../../../session-api/backends.js";
import { startServer } from "../../../session-api/server.js";
import type { Upstream, UpstreamFactory } from "../../../session-api/terminal/upstream.js";
import { BEARER_PREFIX, SUBPROTOCOL } from "../../../session-api/terminal/protocol.js";
import { PAIR_TOKEN, startFakeApiServer, TYPIST_TOKEN } from "./fake-apiserver.js";

const api = await startFakeApiServer();
const kc = api.kubeConfig();
// The program prints its banner at once; every viewer's first output frame carries it.
const banner: UpstreamFactory = () => {
  const listeners: Array<(chunk: Buffer) => void> = [];
  const upstream: Upstream = {
    write: () => undefined,
    resize: () => undefined,
    close: () => undefined,
    onData: (listener) => {
      listeners.push(listener);
      setImmediate(() => listener(Buffer.from("ready\r\n")));
    },
    onEnd: () => undefined,
  };
  return Promise.resolve(upstream);
};
const server = await startServer({ ...clusterBackend(kc), authenticator: clusterAuthenticator(kc), upstreamFor: () => banner, log: pino({ level: "silent" }), allowedOrigins: [], webUi: false }, 0);
after(async () => {
  await server.close();
  await api.close();
});

const names = [...Array.from({ length: 6 }, (_, i) => `s${i}`), ...Array.from({ length: 20 }, (_, i) => `b${i}`)];
for (const name of names) {
  api.objects.set(`agentsessions/team/${name}`, {
    apiVersion: "agentbox.dev/v1alpha1",
    kind: "AgentSession",
    metadata: { name, namespace: "team", uid: `u-${name}`, generation: 1 },
    spec: { agent: { image: "x" } },
    status: { phase: "Running", podName: `p-${name}` },
  });
}

interface Opened { status: number; hello?: string; output?: string }

function open(name: string, token: string): Promise<Opened> {
  const ws = new WebSocket(`${server.url.replace("http:", "ws:")}/api/v1/namespaces/team/sessions/${name}/terminal`, [SUBPROTOCOL, `${BEARER_PREFIX}${token}`]);
  return new Promise((resolve, reject) => {
    let hello: string | undefined;
    ws.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) {
        const control = JSON.parse(data.toString()) as { type: string; role?: string; data?: string };
        if (control.type === "hello") hello = control.role;
        if (control.type !== "snapshot" || !control.data?.includes("ready")) return;
      } else if (!data.toString().includes("ready")) return;
      ws.close();
      resolve({ status: 101, ...(hello ? { hello } : {}), output: "ready" });
    });
    ws.on("unexpected-response", (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    ws.on("error", reject);
  });
}

const count = (path: string): number => api.requests.filter((r) => r.url.includes(path)).length;
interface SarBody { spec: { resourceAttributes: { verb: string; name?: string } } }
const sessionReads = (): number => api.requests.filter((r) => r.method === "GET" && /\/agentsessions(\/[^/?]+)?$/.test(r.url)).length;
const sarBodies = (): SarBody[] => api.requests.filter((r) => r.url.includes("subjectaccessreviews")).map((r) => r.body as SarBody);

test("twenty sessions' terminals opened at once by one person: one TokenReview, one SubjectAccessReview, few session reads, all get output", async () => {
  const reviewsBefore = count("tokenreviews");
  const sarsBefore = count("subjectaccessreviews");
  const readsBefore = sessionReads();
  // An API server that takes a while to answer, as during a burst: the upgrades wait on the one
  // TokenReview together, then read their sessions in the same turn.
  api.latencyMs = 300;
  const opened = await Promise.all(Array.from({ length: 20 }, (_, i) => open(`b${i}`, TYPIST_TOKEN))).finally(() => (api.latencyMs = 0));
  for (const o of opened) assert.deepEqual(o, { status: 101, hello: "rw", output: "ready" });
  assert.equal(count("tokenreviews") - reviewsBefore, 1);
  const reads = sessionReads() - readsBefore;
  assert.ok(reads >= 1 && reads < 10, `twenty terminals read their sessions in ${reads} requests (one LIST per turn)`);
  // create on agentsessions/terminal in the namespace, no name: it covers all twenty; get is not
  // asked, it cannot change a typist's role.
  const sars = sarBodies().slice(sarsBefore);
  assert.deepEqual(sars.map((s) => s.spec.resourceAttributes), [{ group: "agentbox.dev", verb: "create", resource: "agentsessions", subresource: "terminal", namespace: "team" }]);
});

test("a grant by resourceNames only still opens that session's terminal, and no other", async () => {
  const sarsBefore = count("subjectaccessreviews");
  const opened = await Promise.all([open("s1", PAIR_TOKEN), open("s1", PAIR_TOKEN), open("s2", PAIR_TOKEN)]);
  assert.deepEqual(opened, [{ status: 101, hello: "rw", output: "ready" }, { status: 101, hello: "rw", output: "ready" }, { status: 403 }]);
  const asked = sarBodies().slice(sarsBefore).map((s) => `${s.spec.resourceAttributes.verb}:${s.spec.resourceAttributes.name ?? "*"}`).sort();
  // The namespace-wide refusals are shared and remembered; each name is then asked itself.
  assert.deepEqual(asked, ["create:*", "create:s1", "create:s2", "get:*", "get:s2"]);
});

test("a refused token is refused on every connection; a watcher's role still comes from its own reviews", async () => {
  assert.deepEqual(await open("s4", "not-a-token"), { status: 401 });
  assert.deepEqual(await open("s4", "not-a-token"), { status: 401 });
  const sarsBefore = count("subjectaccessreviews");
  // kube-user-token is ci: get but not create on agentsessions/terminal.
  assert.deepEqual(await open("s5", "kube-user-token"), { status: 101, hello: "ro", output: "ready" });
  // create: refused namespace-wide, then for s5 itself; get: allowed namespace-wide.
  assert.equal(count("subjectaccessreviews") - sarsBefore, 3);
  assert.deepEqual(await open("s5", TYPIST_TOKEN), { status: 101, hello: "rw", output: "ready" });
  assert.deepEqual(await open("nope", TYPIST_TOKEN), { status: 404 });
  assert.deepEqual(await open("nope", "kube-user-token"), { status: 404 });
});
