import { test, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startTestApi, TOKENS } from "./harness.js";

const api = await startTestApi();
after(() => api.close());

interface Reply {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Raw HTTP so tests can send anything at all: broken JSON, odd headers, bad encodings. */
function call(method: string, path: string, options: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  const url = new URL(api.url);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers.authorization ??= `Bearer ${options.token ?? TOKENS.alice}`;
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // plain text (logs)
        }
        resolve({ status: res.statusCode ?? 0, body, text, headers: res.headers });
      });
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const errorCode = (reply: Reply): unknown => (reply.body as { error?: { code?: unknown } }).error?.code;

test("create from a template, get, list, logs, delete", async () => {
  const created = await call("POST", "/api/v1/namespaces/team/sessions", { body: JSON.stringify({ template: "shell", name: "s1", spec: { lifecycle: { ttlSeconds: 600 } } }) });
  assert.equal(created.status, 201, created.text);
  const session = created.body as { metadata: { name: string; annotations: Record<string, string> }; spec: { templateRef: { name: string } } };
  assert.equal(session.metadata.name, "s1");
  assert.equal(session.spec.templateRef.name, "shell");
  assert.equal(session.metadata.annotations["agentbox.dev/created-by"], "alice");

  const full = await call("POST", "/api/v1/namespaces/team/sessions", { body: JSON.stringify({ generateName: "full-", spec: { agent: { image: "busybox:1.36" } } }) });
  assert.equal(full.status, 201, full.text);
  assert.match((full.body as { metadata: { name: string } }).metadata.name, /^full-/);

  const got = await call("GET", "/api/v1/namespaces/team/sessions/s1");
  assert.equal(got.status, 200);
  const list = await call("GET", "/api/v1/namespaces/team/sessions");
  assert.deepEqual((list.body as { items: Array<{ metadata: { name: string } }> }).items.map((s) => s.metadata.name).sort().length, 2);
  const templates = await call("GET", "/api/v1/namespaces/team/templates", { token: TOKENS.bob });
  assert.deepEqual((templates.body as { items: Array<{ metadata: { name: string } }> }).items.map((t) => t.metadata.name), ["shell"]);

  api.store.setLogs("team", "s1", "one\ntwo\nthree");
  const logs = await call("GET", "/api/v1/namespaces/team/sessions/s1/logs?tailLines=2", { token: TOKENS.bob });
  assert.equal(logs.status, 200);
  assert.equal(logs.text, "two\nthree");

  const clash = await call("POST", "/api/v1/namespaces/team/sessions", { body: JSON.stringify({ template: "shell", name: "s1" }) });
  assert.equal(clash.status, 409);
  const deleted = await call("DELETE", "/api/v1/namespaces/team/sessions/s1");
  assert.equal(deleted.status, 200);
  assert.equal((await call("GET", "/api/v1/namespaces/team/sessions/s1")).status, 404);
  assert.equal((await call("DELETE", "/api/v1/namespaces/team/sessions/s1")).status, 404);
});

test("the OpenAPI document is served and describes the session routes", async () => {
  const reply = await call("GET", "/api/v1/openapi.json", { token: null });
  assert.equal(reply.status, 200);
  const doc = reply.body as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
  assert.equal(doc.openapi, "3.1.0");
  assert.ok(doc.paths["/api/v1/namespaces/{namespace}/sessions"]);
  assert.ok(doc.components.schemas.AgentSessionSpec);
});

test("authentication: missing or bad tokens get 401 with the error shape", async () => {
  const cases: Array<[string, Record<string, string>, string | null]> = [
    ["no token", {}, null],
    ["unknown token", {}, "not-a-real-token-at-all"],
    ["not a bearer header", { authorization: "Basic YWxpY2U6eA==" }, null],
    ["empty bearer", { authorization: "Bearer " }, null],
  ];
  for (const [what, headers, token] of cases) {
    const reply = await call("GET", "/api/v1/namespaces/team/sessions", { token: token ?? null, headers });
    assert.equal(reply.status, 401, what);
    assert.equal(errorCode(reply), "Unauthenticated", what);
    assert.match(String(reply.headers["www-authenticate"]), /^Bearer/, what);
  }
});

test("authorization: the authorizer's denial is a 403 naming the missing permission", async () => {
  const reply = await call("GET", "/api/v1/namespaces/team/sessions", { token: TOKENS.mallory });
  assert.equal(reply.status, 403);
  assert.equal(errorCode(reply), "Forbidden");
  assert.match((reply.body as { error: { message: string } }).error.message, /mallory may not list agentsessions in namespace team/);
  const viewerCreate = await call("POST", "/api/v1/namespaces/team/sessions", { token: TOKENS.bob, body: JSON.stringify({ template: "shell" }) });
  assert.equal(viewerCreate.status, 403);
  const viewerDelete = await call("DELETE", "/api/v1/namespaces/team/sessions/x", { token: TOKENS.bob });
  assert.equal(viewerDelete.status, 403);
  assert.ok(api.authorizer.checks.some((c) => c.user === "bob" && c.verb === "delete" && c.resource === "agentsessions"));
});

test("a token in the query string is refused even alongside a valid header", async () => {
  for (const key of ["token", "access_token", "Authorization"]) {
    const reply = await call("GET", `/api/v1/namespaces/team/sessions?${key}=${TOKENS.alice}`);
    assert.equal(reply.status, 400, key);
    assert.match(reply.text, /not accepted in the query string/);
    assert.doesNotMatch(reply.text, new RegExp(TOKENS.alice), "the token is never echoed");
  }
});

const P = "/api/v1/namespaces/team/sessions";
const json = (value: unknown): string => JSON.stringify(value);
const MALFORMED: Array<{ what: string; method: string; path: string; body?: string | Buffer; headers?: Record<string, string>; status: number }> = [
  { what: "broken JSON", method: "POST", path: P, body: "{", status: 400 },
  { what: "trailing garbage", method: "POST", path: P, body: '{"template":"shell"} x', status: 400 },
  { what: "JSON string body", method: "POST", path: P, body: '"shell"', status: 400 },
  { what: "JSON array body", method: "POST", path: P, body: "[]", status: 400 },
  { what: "JSON null", method: "POST", path: P, body: "null", status: 400 },
  { what: "empty body", method: "POST", path: P, body: "", status: 400 },
  { what: "empty object", method: "POST", path: P, body: "{}", status: 400 },
  { what: "unknown top-level field", method: "POST", path: P, body: json({ template: "shell", colour: "red" }), status: 400 },
  { what: "unknown spec field", method: "POST", path: P, body: json({ template: "shell", spec: { agnet: {} } }), status: 400 },
  { what: "unknown nested field", method: "POST", path: P, body: json({ template: "shell", spec: { lifecycle: { ttl: 5 } } }), status: 400 },
  { what: "name wrong type", method: "POST", path: P, body: json({ template: "shell", name: 42 }), status: 400 },
  { what: "name upper case", method: "POST", path: P, body: json({ template: "shell", name: "Bad_Name" }), status: 400 },
  { what: "name too long", method: "POST", path: P, body: json({ template: "shell", name: "a".repeat(64) }), status: 400 },
  { what: "name and generateName", method: "POST", path: P, body: json({ template: "shell", name: "a", generateName: "b-" }), status: 400 },
  { what: "template wrong type", method: "POST", path: P, body: json({ template: ["shell"] }), status: 400 },
  { what: "spec not an object", method: "POST", path: P, body: json({ spec: "busybox" }), status: 400 },
  { what: "spec without image or template", method: "POST", path: P, body: json({ spec: { agent: { command: ["sh"] } } }), status: 400 },
  { what: "ttl negative", method: "POST", path: P, body: json({ template: "shell", spec: { lifecycle: { ttlSeconds: -1 } } }), status: 400 },
  { what: "ttl a string", method: "POST", path: P, body: json({ template: "shell", spec: { lifecycle: { ttlSeconds: "600" } } }), status: 400 },
  { what: "mode not an enum value", method: "POST", path: P, body: json({ template: "shell", spec: { lifecycle: { mode: "Forever" } } }), status: 400 },
  { what: "runAsUser of the sidecar", method: "POST", path: P, body: json({ spec: { agent: { image: "x", runAsUser: 1337 } } }), status: 400 },
  { what: "two template references", method: "POST", path: P, body: json({ template: "shell", spec: { templateRef: { name: "shell" } } }), status: 400 },
  { what: "huge body", method: "POST", path: P, body: json({ template: "shell", spec: { agent: { args: ["x".repeat(100_000)] } } }), status: 413 },
  { what: "text/plain body", method: "POST", path: P, body: json({ template: "shell" }), headers: { "content-type": "text/plain" }, status: 415 },
  { what: "form body", method: "POST", path: P, body: "template=shell", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415 },
  { what: "latin1 charset", method: "POST", path: P, body: json({ template: "shell" }), headers: { "content-type": "application/json; charset=latin1" }, status: 415 },
  { what: "unknown content encoding", method: "POST", path: P, body: json({ template: "shell" }), headers: { "content-encoding": "br2" }, status: 415 },
  { what: "missing template", method: "POST", path: P, body: json({ template: "nope" }), status: 422 },
  { what: "locked template field", method: "POST", path: P, body: json({ template: "shell", spec: { agent: { image: "evil:1" } } }), status: 422 },
  { what: "bad namespace", method: "GET", path: "/api/v1/namespaces/Team!/sessions", status: 400 },
  { what: "namespace too long", method: "GET", path: `/api/v1/namespaces/${"n".repeat(64)}/sessions`, status: 400 },
  { what: "bad session name", method: "GET", path: `${P}/UPPER`, status: 400 },
  { what: "bad percent-encoding", method: "GET", path: `${P}/%E0%A4%A`, status: 400 },
  { what: "dot-dot name", method: "GET", path: `${P}/..%2F..%2Fsecrets`, status: 400 },
  { what: "unknown query on list", method: "GET", path: `${P}?limit=5`, status: 400 },
  { what: "tailLines not a number", method: "GET", path: `${P}/s9/logs?tailLines=lots`, status: 400 },
  { what: "tailLines zero", method: "GET", path: `${P}/s9/logs?tailLines=0`, status: 400 },
  { what: "tailLines twice", method: "GET", path: `${P}/s9/logs?tailLines=1&tailLines=2`, status: 400 },
  { what: "container not allowed", method: "GET", path: `${P}/s9/logs?container=../../etc`, status: 400 },
  { what: "logs of a missing session", method: "GET", path: `${P}/nobody/logs`, status: 404 },
  { what: "unknown API path", method: "GET", path: "/api/v1/namespaces/team/widgets", status: 404 },
  { what: "unknown API version", method: "GET", path: "/api/v2/namespaces/team/sessions", status: 404 },
  { what: "PUT on the collection", method: "PUT", path: P, body: "{}", status: 405 },
  { what: "PATCH on a session", method: "PATCH", path: `${P}/s9`, body: "{}", status: 405 },
];

test(`${MALFORMED.length} malformed requests each get their documented 4xx, never a 5xx`, async () => {
  assert.ok(MALFORMED.length >= 30);
  for (const c of MALFORMED) {
    const reply = await call(c.method, c.path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.headers ? { headers: c.headers } : {}) });
    assert.equal(reply.status, c.status, `${c.what}: ${reply.text.slice(0, 300)}`);
    const body = reply.body as { error?: { code?: string; message?: string } };
    assert.equal(typeof body.error?.code, "string", `${c.what}: error shape`);
    assert.ok((body.error?.message ?? "").length > 10, `${c.what}: a message a person can act on`);
  }
  // The server is still healthy afterwards.
  assert.equal((await call("GET", "/healthz", { token: null })).status, 200);
});
