import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { WebSocket } from "ws";
import { kubeStreamFactory } from "../../../session-api/terminal/kube-stream.js";
import { kubeSessionStore } from "../../../session-api/store/kube-store.js";
import { StoreError } from "../../../session-api/store/store.js";
import { subjectAccessReviewAuthorizer, tokenReviewAuthenticator } from "../../../session-api/auth/kubernetes.js";
import type { UpstreamEnd } from "../../../session-api/terminal/upstream.js";
import { pooled } from "../../../session-api/kube-config.js";
import { untilSettled } from "../../../session-api/terminal/until-settled.js";
import { cachedAuthenticator } from "../../../session-api/auth/kubernetes.js";
import { APISERVER_AUDIENCE_TOKEN, AUDIENCE_AGNOSTIC_TOKEN, SESSION_API_AUDIENCE, startFakeApiServer } from "./fake-apiserver.js";
import { until } from "./viewer-client.js";

const api = await startFakeApiServer();
after(() => api.close());
const kc = api.kubeConfig();

test("pods/attach upstream speaks v5.channel.k8s.io: stdin, stdout, resize on channel 4, exit status", async () => {
  const frames: Buffer[] = [];
  api.onStream = (ws: WebSocket) => {
    ws.on("message", (frame: Buffer) => {
      frames.push(frame);
      if (frame[0] !== 0) return;
      const text = frame.subarray(1).toString();
      if (text === "exit") {
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ status: "Failure", reason: "NonZeroExitCode", message: "command terminated with non-zero exit code", details: { causes: [{ reason: "ExitCode", message: "3" }] } }))]));
        ws.close(1000);
      } else {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(text.toUpperCase())]));
      }
    });
  };
  const upstream = await kubeStreamFactory(kc, { namespace: "team", pod: "s1", container: "agent", mode: "attach" })({ cols: 90, rows: 20 });
  const upgrade = api.requests.filter((r) => r.method === "UPGRADE").at(-1);
  assert.equal(upgrade?.url, "/api/v1/namespaces/team/pods/s1/attach?container=agent&stdin=true&stdout=true&tty=true");
  let output = "";
  upstream.onData((chunk) => (output += chunk.toString()));
  let end: UpstreamEnd | undefined;
  upstream.onEnd((e) => (end = e));
  upstream.write("hello");
  await until(() => output === "HELLO", "stdout echo");
  upstream.resize({ cols: 100, rows: 30 });
  await until(() => frames.filter((f) => f[0] === 4).length === 2, "two resize frames");
  assert.deepEqual(frames.filter((f) => f[0] === 4).map((f) => JSON.parse(f.subarray(1).toString())), [{ Width: 90, Height: 20 }, { Width: 100, Height: 30 }]);
  upstream.write("exit");
  await until(() => end !== undefined, "end of stream");
  assert.equal(end?.exitCode, 3);
});

test("pods/exec upstream passes the command; refusals become errors a person can act on", async () => {
  api.onStream = (ws: WebSocket) => ws.close(1000);
  const exec = await kubeStreamFactory(kc, { namespace: "team", pod: "s1", container: "agent", mode: "exec", command: ["sh", "-l"] })({ cols: 80, rows: 24 });
  exec.close();
  assert.match(api.requests.filter((r) => r.method === "UPGRADE").at(-1)?.url ?? "", /\/exec\?container=agent&stdin=true&stdout=true&tty=true&command=sh&command=-l$/);
  api.upgrade = { status: 403, protocol: "v5.channel.k8s.io" };
  await assert.rejects(kubeStreamFactory(kc, { namespace: "team", pod: "s1", container: "agent", mode: "attach" })({ cols: 80, rows: 24 }), /refused attach to team\/s1: HTTP 403/);
  api.upgrade = { status: 101, protocol: "v4.channel.k8s.io" };
  await assert.rejects(kubeStreamFactory(kc, { namespace: "team", pod: "s1", container: "agent", mode: "attach" })({ cols: 80, rows: 24 }), /does not speak v5.channel.k8s.io/);
  api.upgrade = { status: 101, protocol: "v5.channel.k8s.io" };
});

test("TokenReview and SubjectAccessReview", async () => {
  const authn = tokenReviewAuthenticator(kc, SESSION_API_AUDIENCE);
  assert.deepEqual(await authn.authenticate("kube-user-token"), { username: "system:serviceaccount:team:ci", groups: ["system:serviceaccounts"], uid: "u-1", via: "kubernetes" });
  assert.equal(await authn.authenticate("someone-elses-token"), undefined);
  const authz = subjectAccessReviewAuthorizer(kc);
  const ci = { username: "system:serviceaccount:team:ci", groups: ["system:serviceaccounts"], uid: "u-1", via: "kubernetes" as const };
  assert.equal(await authz.allowed(ci, { verb: "get", resource: "agentsessions", subresource: "terminal", namespace: "team", name: "s1" }), true);
  assert.equal(await authz.allowed(ci, { verb: "create", resource: "agentsessions", subresource: "terminal", namespace: "team", name: "s1" }), false);
  const sar = api.requests.filter((r) => r.url.endsWith("/subjectaccessreviews")).at(-1)?.body as { spec: Record<string, unknown> };
  assert.deepEqual(sar.spec, {
    user: ci.username,
    groups: ci.groups,
    uid: "u-1",
    resourceAttributes: { group: "agentbox.dev", verb: "create", resource: "agentsessions", subresource: "terminal", namespace: "team", name: "s1" },
  });
});

test("TokenReview asks for the session API's audience; a token for another, or an answer without it, is refused with how to get one", async () => {
  const authn = tokenReviewAuthenticator(kc, SESSION_API_AUDIENCE);
  assert.equal((await authn.authenticate("kube-user-token"))?.username, "system:serviceaccount:team:ci");
  const sent = api.requests.filter((r) => r.url.endsWith("/tokenreviews")).at(-1)?.body as { spec: { audiences?: string[] } };
  assert.deepEqual(sent.spec.audiences, [SESSION_API_AUDIENCE], "the review names our audience");
  const hint = /not meant for the session API: .*kubectl create token <serviceaccount> --audience agentbox-session-api/;
  // A plain `kubectl create token` is for the API server: TokenReview says so, and we say how to fix it.
  await assert.rejects(authn.authenticate(APISERVER_AUDIENCE_TOKEN), (err: Error) => err.name === "TokenRefused" && hint.test(err.message));
  // An authenticator without audience support vouches for the token but names no audience.
  await assert.rejects(authn.authenticate(AUDIENCE_AGNOSTIC_TOKEN), (err: Error) => err.name === "TokenRefused" && hint.test(err.message));
  // Behind the cache a refusal stays a refusal, and is remembered like one (one review for two asks).
  const cached = cachedAuthenticator(authn);
  const before = api.requests.filter((r) => r.url.endsWith("/tokenreviews")).length;
  for (let i = 0; i < 2; i++) await assert.rejects(cached.authenticate(APISERVER_AUDIENCE_TOKEN), hint);
  assert.equal(api.requests.filter((r) => r.url.endsWith("/tokenreviews")).length - before, 1);
});

const ANN = { username: "oidc:ann", groups: ["oidc:dev", "oidc:ops, with a comma"] };

test("the Kubernetes session store writes as the person (one Impersonate-Group line per group) and keeps its own bookkeeping and reads as itself", async () => {
  const store = kubeSessionStore(pooled(kc));
  const from = api.requests.length;
  const connections = api.connections;
  await store.createSession("team", { name: "imp", spec: { agent: { image: "x" } } }, ANN);
  await store.getSession("team", "imp");
  await store.recordActivity("team", "imp", new Date());
  await store.deleteSession("team", "imp", ANN);
  const seen = api.requests.slice(from).map((r) => [r.method, r.impersonate]);
  const asAnn = { user: "oidc:ann", groups: ["oidc:dev", "oidc:ops, with a comma"] };
  assert.deepEqual(seen, [
    ["POST", asAnn],
    ["GET", undefined],
    ["PATCH", undefined],
    ["DELETE", asAnn],
  ]);
  assert.ok(api.connections - connections <= 2, "impersonated writes ride the shared pool, not a pool of their own");
  await assert.rejects(store.createSession("team", { name: "imp2", spec: { agent: { image: "x" } } }, { username: "ann\r\nX-Evil: 1", groups: [] }), (err: StoreError) => err.kind === "invalid" && /printable ASCII only/.test(err.message));
});

test("admission refusals of the person's write reach them as 403/422 with the API server's message; a missing impersonate right is ours", async () => {
  const store = kubeSessionStore(kc);
  const denied = 'agentsessions.agentbox.dev "adm" is forbidden: ValidatingAdmissionPolicy \'agentbox-created-by\' denied request: agentbox.dev/created-by must be your user name';
  const cases: Array<[{ code: number; reason: string; message: string }, StoreError["kind"], RegExp]> = [
    [{ code: 403, reason: "Forbidden", message: denied }, "forbidden", /create session in team: .*ValidatingAdmissionPolicy 'agentbox-created-by' denied request/],
    [{ code: 422, reason: "Invalid", message: 'AgentSession.agentbox.dev "adm" is invalid: spec.credentials[0]: you may not get secret anthropic' }, "invalid", /you may not get secret anthropic/],
    [{ code: 403, reason: "Forbidden", message: 'users "oidc:ann" is forbidden: User "system:serviceaccount:agentbox-system:agentbox-session-api" cannot impersonate resource "users" in API group "" at the cluster scope' }, "unavailable", /may not act as you; its ClusterRole needs the impersonate verb/],
  ];
  try {
    for (const [refusal, kind, message] of cases) {
      api.admission = () => refusal;
      await assert.rejects(store.createSession("team", { name: "adm", spec: { agent: { image: "x" } } }, ANN), (err: StoreError) => err.kind === kind && message.test(err.message), refusal.message);
    }
    api.admission = ({ method }) => (method === "DELETE" ? { code: 403, reason: "Forbidden", message: denied } : undefined);
    await store.createSession("team", { name: "adm", spec: { agent: { image: "x" } } }, ANN);
    await assert.rejects(store.deleteSession("team", "adm", ANN), (err: StoreError) => err.kind === "forbidden");
  } finally {
    api.admission = undefined;
  }
  await store.deleteSession("team", "adm", ANN);
});

test("the Kubernetes session store: create, get, list, activity merge patch, logs, delete, errors", async () => {
  const store = kubeSessionStore(kc);
  const created = await store.createSession("team", { name: "k1", spec: { agent: { image: "busybox:1.36" } }, annotations: { "agentbox.dev/created-by": "ann" } }, ANN);
  assert.equal(created.metadata.name, "k1");
  await assert.rejects(store.createSession("team", { name: "k1", spec: { agent: { image: "x" } } }, ANN), (err: StoreError) => err.kind === "conflict" && /already exists/.test(err.message));
  assert.equal((await store.getSession("team", "k1"))?.spec.agent?.image, "busybox:1.36");
  assert.equal(await store.getSession("team", "nope"), undefined);
  assert.deepEqual((await store.listSessions("team")).map((s) => s.metadata.name), ["k1"]);
  await store.recordActivity("team", "k1", new Date("2026-11-25T10:00:00Z"));
  const patch = api.requests.find((r) => r.method === "PATCH");
  assert.equal(patch?.contentType, "application/merge-patch+json");
  assert.equal((await store.getSession("team", "k1"))?.metadata.annotations?.["agentbox.dev/last-activity"], "2026-11-25T10:00:00.000Z");
  await assert.rejects(store.logs("team", "k1", { container: "agent" }), (err: StoreError) => err.kind === "not-found" && /no pod yet/.test(err.message));
  (api.objects.get("agentsessions/team/k1") as { status?: unknown }).status = { phase: "Running", podName: "k1-pod" };
  assert.equal(await store.logs("team", "k1", { container: "agent", tailLines: 2 }), "agent:k1-pod:b,c");
  assert.equal(await store.deleteSession("team", "k1", ANN), true);
  assert.equal(await store.deleteSession("team", "k1", ANN), false);
  assert.deepEqual(await store.listTemplates("team"), []);
});

test("the Kubernetes session store watches one session: as it is, its changes, its deletion; untilSettled rides on it", async () => {
  const store = kubeSessionStore(kc);
  await store.createSession("team", { name: "w1", spec: { agent: { image: "x" } } }, ANN);
  const seen: Array<string | undefined> = [];
  let ended = false;
  const stop = await store.watchSession?.("team", "w1", (s) => seen.push(s ? (s.status?.phase ?? "none") : undefined), () => (ended = true));
  assert.ok(stop, "the Kubernetes store can watch");
  await until(() => seen.length === 1, "the session as it is");
  const watchRequest = api.requests.filter((r) => r.url.includes("watch=true")).at(-1);
  assert.match(watchRequest?.url ?? "", /agentsessions\?.*fieldSelector=metadata.name%3Dw1/);
  (api.objects.get("agentsessions/team/w1") as { status?: unknown }).status = { phase: "Running", podName: "w1-pod" };
  api.changed("agentsessions", "team", "w1");
  await store.deleteSession("team", "w1", ANN);
  await until(() => seen.length === 3, "the change and the deletion");
  assert.deepEqual(seen, ["none", "Running", undefined]);
  stop();
  await until(() => api.watches.size === 0, "the watch closed on the server");
  assert.equal(ended, false, "a watch stopped by its caller does not report an end");

  await store.createSession("team", { name: "w2", spec: { agent: { image: "x" } } }, ANN);
  const settled = untilSettled(store, "team", "w2")?.(60_000, new AbortController().signal);
  await until(() => api.watches.size === 1, "the wait's watch");
  (api.objects.get("agentsessions/team/w2") as { status?: unknown }).status = { phase: "Running", podName: "w2-pod" };
  api.changed("agentsessions", "team", "w2");
  assert.equal(await settled, "running");
  await until(() => api.watches.size === 0, "the wait's watch closed");
  await store.deleteSession("team", "w2", ANN);
});

test("a pooled KubeConfig reuses its connections for sequential API calls; a plain one opens one per call", async () => {
  const calls = async (config: typeof kc): Promise<number> => {
    const authn = tokenReviewAuthenticator(config, SESSION_API_AUDIENCE);
    const store = kubeSessionStore(config);
    const before = api.connections;
    for (let i = 0; i < 4; i++) {
      assert.equal((await authn.authenticate("kube-user-token"))?.username, "system:serviceaccount:team:ci");
      assert.equal(await store.getSession("team", "absent"), undefined);
    }
    return api.connections - before;
  };
  assert.equal(await calls(kc), 8);
  // One pool for both clients: its connections are reused (a second one may open after an
  // error answer), instead of one per call.
  assert.ok((await calls(pooled(kc))) <= 2);
});
