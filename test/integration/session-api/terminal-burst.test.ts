// A burst of terminals through the cluster code paths (TokenReview, SubjectAccessReview and the
// custom-object store against the loopback stand-in API server): every connection is still
// authenticated and authorized, but one token is reviewed once, each exact question once, and a
// refused token is refused every time.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { WebSocket } from "ws";
import { clusterAuthenticator } from "../../../session-api/auth/kubernetes.js";
import { clusterBackend } from "../../../session-api/backends.js";
import { startServer } from "../../../session-api/server.js";
import type { Upstream, UpstreamFactory } from "../../../session-api/terminal/upstream.js";
import { BEARER_PREFIX, SUBPROTOCOL } from "../../../session-api/terminal/protocol.js";
import { startFakeApiServer, TYPIST_TOKEN } from "./fake-apiserver.js";

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

for (let i = 0; i < 6; i++) {
  api.objects.set(`agentsessions/team/s${i}`, {
    apiVersion: "agentbox.dev/v1alpha1",
    kind: "AgentSession",
    metadata: { name: `s${i}`, namespace: "team", uid: `u${i}`, generation: 1 },
    spec: { agent: { image: "x" } },
    status: { phase: "Running", podName: `p${i}` },
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

test("twenty terminals opened at once with one token: one TokenReview, each exact question reviewed once, all get output", async () => {
  const reviewsBefore = count("tokenreviews");
  const sarsBefore = count("subjectaccessreviews");
  const names = Array.from({ length: 20 }, (_, i) => `s${i % 4}`);
  const opened = await Promise.all(names.map((name) => open(name, TYPIST_TOKEN)));
  for (const o of opened) assert.deepEqual(o, { status: 101, hello: "rw", output: "ready" });
  assert.equal(count("tokenreviews") - reviewsBefore, 1);
  // create on each of the 4 sessions; get is not asked, it cannot change a typist's role.
  assert.equal(count("subjectaccessreviews") - sarsBefore, 4);
});

test("a refused token is refused on every connection; a watcher's role still comes from its own reviews", async () => {
  assert.deepEqual(await open("s4", "not-a-token"), { status: 401 });
  assert.deepEqual(await open("s4", "not-a-token"), { status: 401 });
  const sarsBefore = count("subjectaccessreviews");
  // kube-user-token is ci: get but not create on agentsessions/terminal.
  assert.deepEqual(await open("s5", "kube-user-token"), { status: 101, hello: "ro", output: "ready" });
  assert.equal(count("subjectaccessreviews") - sarsBefore, 2);
  assert.deepEqual(await open("s5", TYPIST_TOKEN), { status: 101, hello: "rw", output: "ready" });
  assert.deepEqual(await open("nope", TYPIST_TOKEN), { status: 404 });
  assert.deepEqual(await open("nope", "kube-user-token"), { status: 404 });
});
