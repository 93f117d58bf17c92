// The session API against the real cluster: real TokenReview and SubjectAccessReview for
// service-account tokens, real AgentSessions reconciled by the operator, and the browser-side
// protocol through a real pods/attach to the agent's TTY.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { pino } from "pino";
import { connect, createNamespace, deleteNamespace, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { hasReadyNode, installCrds, runOperator } from "./operator-support.js";
import type { RunningOperator } from "../../operator/main.js";
import { clusterBackend } from "../../session-api/backends.js";
import { tokenReviewAuthenticator } from "../../session-api/auth/kubernetes.js";
import { DEFAULT_TOKEN_AUDIENCE } from "../../session-api/auth/token-audience.js";
import { startServer, type RunningServer } from "../../session-api/server.js";
import { TestViewer, until } from "../integration/session-api/viewer-client.js";

let cluster: Cluster;
let ns: string;
let operator: RunningOperator | undefined;
let api: RunningServer;
const tokens: Record<string, string> = {};

const RULES: Record<string, k8s.V1PolicyRule[]> = {
  // The chart's agentbox-agent-user and agentbox-agent-viewer rules, as namespaced Roles.
  user: [
    { apiGroups: ["agentbox.dev"], resources: ["agentsessions"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
    { apiGroups: ["agentbox.dev"], resources: ["agentsessions/terminal"], verbs: ["create", "get"] },
    { apiGroups: ["agentbox.dev"], resources: ["agenttemplates"], verbs: ["get", "list", "watch"] },
  ],
  viewer: [
    { apiGroups: ["agentbox.dev"], resources: ["agentsessions", "agenttemplates"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["agentbox.dev"], resources: ["agentsessions/terminal"], verbs: ["get"] },
  ],
};

async function serviceAccountToken(name: string, role?: keyof typeof RULES): Promise<string> {
  await cluster.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  if (role) {
    const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name }, rules: RULES[role] ?? [] } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name }, subjects: [{ kind: "ServiceAccount", name, namespace: ns }] },
    });
  }
  const request = await cluster.core.createNamespacedServiceAccountToken({ name, namespace: ns, body: { spec: { expirationSeconds: 3600, audiences: [DEFAULT_TOKEN_AUDIENCE] } } });
  const token = request.status?.token;
  assert.ok(token, `a token for ${name}`);
  return token;
}

before(async () => {
  cluster = connect();
  await installCrds(cluster);
  ns = await createNamespace(cluster, "sapi");
  operator = await runOperator(cluster, ns);
  tokens.alice = await serviceAccountToken("alice", "user");
  tokens.bob = await serviceAccountToken("bob", "viewer");
  tokens.mallory = await serviceAccountToken("mallory");
  api = await startServer(
    { ...clusterBackend(cluster.kc), authenticator: tokenReviewAuthenticator(cluster.kc, DEFAULT_TOKEN_AUDIENCE), log: pino({ level: process.env.LOG_LEVEL ?? "warn" }), allowedOrigins: [] },
    0,
  );
});

after(async () => {
  await api?.close();
  await operator?.stop();
  if (ns) await deleteNamespace(cluster, ns);
});

const rest = (method: string, path: string, token: string | undefined, body?: unknown): Promise<Response> =>
  fetch(`${api.url}/api/v1/namespaces/${ns}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

test("Kubernetes tokens: TokenReview signs in, SubjectAccessReview decides", async () => {
  const whoami = await fetch(`${api.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${tokens.alice}` } });
  assert.equal(whoami.status, 200);
  assert.equal(((await whoami.json()) as { username: string }).username, `system:serviceaccount:${ns}:alice`);
  assert.equal((await rest("GET", "/sessions", "not-a-token")).status, 401);
  assert.equal((await rest("GET", "/sessions", tokens.mallory)).status, 403);
  assert.equal((await rest("GET", "/sessions", tokens.bob)).status, 200);
  assert.equal((await rest("POST", "/sessions", tokens.bob, { name: "nope", spec: { agent: { image: SHELL_IMAGE } } })).status, 403);
});

test("create through the API, type through pods/attach, viewer cannot type, delete", { timeout: 240_000 }, async (t) => {
  if (!(await hasReadyNode(cluster))) return t.skip("no Ready node: pods would not run");
  const created = await rest("POST", "/sessions", tokens.alice, { name: "term", spec: { agent: { image: SHELL_IMAGE, command: ["bash", "--norc", "-i"] } } });
  assert.equal(created.status, 201, await created.clone().text());
  await until(async () => {
    const got = (await (await rest("GET", "/sessions/term", tokens.bob)).json()) as { status?: { phase?: string } };
    return got.status?.phase === "Running";
  }, "session Running", 180_000);
  const wsUrl = `${api.url.replace("http:", "ws:")}/api/v1/namespaces/${ns}/sessions/term/terminal`;
  const user = await TestViewer.connect(wsUrl, { protocols: ["agentbox.v1", `agentbox.bearer.${tokens.alice}`] });
  const viewer = await TestViewer.connect(wsUrl, { protocols: ["agentbox.v1", `agentbox.bearer.${tokens.bob}`] });
  try {
    await until(() => user.snapshots === 1 && viewer.snapshots === 1, "snapshots", 30_000);
    assert.deepEqual([user, viewer].map((v) => v.controls.find((c) => c.type === "hello")?.role), ["rw", "ro"]);
    viewer.type("echo VIEWER-$((1+1))\r");
    user.type("echo e2e-$((6*7))\r");
    await until(async () => (await viewer.text()).includes("e2e-42"), "the agent's answer through pods/attach", 30_000);
    assert.doesNotMatch(await user.text(), /VIEWER-2/);
    user.resize(100, 30);
    user.type("stty size\r");
    await until(async () => (await user.text()).includes("30 100"), "resize through channel 4", 30_000);
    const late = await TestViewer.connect(wsUrl, { protocols: ["agentbox.v1", `agentbox.bearer.${tokens.bob}`] });
    await until(async () => (await late.screen()) === (await user.screen()), "a late viewer's snapshot equals the live screen", 30_000);
    late.close();
    await until(async () => {
      const got = (await (await rest("GET", "/sessions/term", tokens.alice)).json()) as { metadata: { annotations?: Record<string, string> } };
      return got.metadata.annotations?.["agentbox.dev/last-activity"] !== undefined;
    }, "activity annotation", 30_000);
  } finally {
    user.close();
    viewer.close();
  }
  assert.equal((await rest("DELETE", "/sessions/term", tokens.alice)).status, 200);
  await until(async () => (await rest("GET", "/sessions/term", tokens.alice)).status === 404, "session gone", 120_000);
});

test("a terminal opened right after the create waits for the pod and attaches once the session runs", { timeout: 240_000 }, async (t) => {
  if (!(await hasReadyNode(cluster))) return t.skip("no Ready node: pods would not run");
  const created = await rest("POST", "/sessions", tokens.alice, { name: "early", spec: { agent: { image: SHELL_IMAGE, command: ["bash", "--norc", "-i"] } } });
  assert.equal(created.status, 201, await created.clone().text());
  const wsUrl = `${api.url.replace("http:", "ws:")}/api/v1/namespaces/${ns}/sessions/early/terminal`;
  // Before the operator has even given it a status: accepted, and told it is waiting.
  const user = await TestViewer.connect(wsUrl, { protocols: ["agentbox.v1", `agentbox.bearer.${tokens.alice}`] });
  try {
    await until(() => user.controls.some((c) => c.type === "upstream" && c.state === "waiting"), "the waiting status", 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}; controls: ${JSON.stringify(user.controls.map((c) => ({ ...c, data: undefined })))}`);
    });
    // The real API server's watch of one AgentSession (fieldSelector metadata.name) brings the attach.
    await until(() => user.controls.some((c) => c.type === "upstream" && c.state === "attached"), "the attach once the session runs", 180_000);
    const phase = ((await (await rest("GET", "/sessions/early", tokens.alice)).json()) as { status?: { phase?: string } }).status?.phase;
    assert.equal(phase, "Running");
    user.type("echo early-$((6*7))\r");
    await until(async () => (await user.text()).includes("early-42"), "the agent's answer", 30_000);
  } finally {
    user.close();
  }
  assert.equal((await rest("DELETE", "/sessions/early", tokens.alice)).status, 200);
});
