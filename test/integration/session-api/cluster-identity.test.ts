// The session API on the cluster backend against the stand-in API server: who the API server
// sees behind a REST write, what an admission refusal becomes, and which Kubernetes tokens sign in.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { clusterAuthenticator } from "../../../session-api/auth/kubernetes.js";
import { clusterBackend } from "../../../session-api/backends.js";
import { pooled } from "../../../session-api/kube-config.js";
import { startServer } from "../../../session-api/server.js";
import { APISERVER_AUDIENCE_TOKEN, AUDIENCE_AGNOSTIC_TOKEN, TYPIST_TOKEN, startFakeApiServer } from "./fake-apiserver.js";

const api = await startFakeApiServer();
const kc = pooled(api.kubeConfig());
const server = await startServer({ ...clusterBackend(kc), authenticator: clusterAuthenticator(kc), log: pino({ level: "silent" }), allowedOrigins: [], webUi: false }, 0);
after(async () => {
  await server.close();
  await api.close();
});

const TYPIST = { user: "system:serviceaccount:team:typist", groups: ["system:serviceaccounts"] };

const rest = (method: string, path: string, token: string, body?: unknown): Promise<Response> =>
  fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

test("a REST create and delete reach the API server as the signed-in person, with created-by their user name", async () => {
  const from = api.requests.length;
  const created = await rest("POST", "/namespaces/team/sessions", TYPIST_TOKEN, { name: "mine", spec: { agent: { image: "x" } } });
  assert.equal(created.status, 201, await created.clone().text());
  const post = api.requests.slice(from).find((r) => r.method === "POST" && r.url.endsWith("/agentsessions"));
  assert.deepEqual(post?.impersonate, TYPIST);
  assert.equal((post?.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations["agentbox.dev/created-by"], TYPIST.user);
  const deleted = await rest("DELETE", "/namespaces/team/sessions/mine", TYPIST_TOKEN);
  assert.equal(deleted.status, 200);
  assert.deepEqual(api.requests.slice(from).find((r) => r.method === "DELETE")?.impersonate, TYPIST);
  // The reviews are the session API's own questions about the person, not the person's requests.
  assert.ok(api.requests.slice(from).filter((r) => r.url.endsWith("reviews")).every((r) => r.impersonate === undefined));
});

test("an admission refusal of the person's create is their 403 / 422 with the API server's message, not a 5xx", async () => {
  const message = 'agentsessions.agentbox.dev "refused" is forbidden: ValidatingAdmissionPolicy \'agentbox-credentials\' denied request: the creator may not get secret anthropic';
  try {
    api.admission = () => ({ code: 403, reason: "Forbidden", message });
    const forbidden = await rest("POST", "/namespaces/team/sessions", TYPIST_TOKEN, { name: "refused", spec: { agent: { image: "x" } } });
    assert.equal(forbidden.status, 403);
    const body = (await forbidden.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "Forbidden");
    assert.match(body.error.message, /ValidatingAdmissionPolicy 'agentbox-credentials' denied request: the creator may not get secret anthropic/);
    api.admission = () => ({ code: 422, reason: "Invalid", message: 'AgentSession.agentbox.dev "refused" is invalid: metadata.annotations[agentbox.dev/created-by]: must be your user name' });
    const invalid = await rest("POST", "/namespaces/team/sessions", TYPIST_TOKEN, { name: "refused", spec: { agent: { image: "x" } } });
    assert.equal(invalid.status, 422);
    assert.match(((await invalid.json()) as { error: { message: string } }).error.message, /must be your user name/);
  } finally {
    api.admission = undefined;
  }
});

test("Kubernetes tokens: only those for the session API's audience sign in; the others get a 401 saying how to get one", async () => {
  assert.equal((await rest("GET", "/whoami", TYPIST_TOKEN)).status, 200);
  for (const token of [APISERVER_AUDIENCE_TOKEN, AUDIENCE_AGNOSTIC_TOKEN]) {
    const reply = await rest("GET", "/whoami", token);
    assert.equal(reply.status, 401, token);
    const body = (await reply.json()) as { error: { message: string } };
    assert.match(body.error.message, /kubectl create token <serviceaccount> --audience agentbox-session-api/, token);
    assert.ok(!body.error.message.includes(token), "the token is never echoed");
  }
});
