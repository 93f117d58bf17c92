import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import WebSocket from "ws";
import { oidcAuthenticator } from "../../../session-api/auth/oidc.js";
import { startTestApi, TOKENS } from "./harness.js";
import { TestViewer, until } from "./viewer-client.js";

// A real OIDC issuer on loopback: discovery document and JWKS, keys made fresh for this run.
const { publicKey, privateKey } = await generateKeyPair("ES256");
const other = await generateKeyPair("ES256");
const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
const issuerServer = createServer((req, res) => {
  const issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  res.setHeader("content-type", "application/json");
  if (req.url === "/.well-known/openid-configuration") res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
  else if (req.url === "/jwks") res.end(JSON.stringify({ keys: [jwk] }));
  else res.writeHead(404).end("{}");
});
await new Promise<void>((resolve) => issuerServer.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
const AUDIENCE = "agentbox";

const api = await startTestApi({ extraAuthenticators: [await oidcAuthenticator({ issuer, audience: AUDIENCE })] });
const wsBase = api.url.replace("http:", "ws:");
const sockets: Array<{ close(): void }> = [];
after(async () => {
  for (const s of sockets) s.close();
  await api.close();
  issuerServer.close();
});

async function jwt(claims: { sub?: string; aud?: string; iss?: string; exp?: number | string; key?: CryptoKey; extra?: Record<string, unknown> }): Promise<string> {
  const token = new SignJWT({ groups: ["dev"], ...claims.extra })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setSubject(claims.sub ?? "alice")
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? "5m");
  return token.sign(claims.key ?? privateKey);
}

// The same issuer as a deployment that names people by email and has switched both prefixes off.
const byEmail = await startTestApi({
  extraAuthenticators: [await oidcAuthenticator({ issuer, audience: AUDIENCE, usernameClaim: "email", usernamePrefix: "", groupsPrefix: "" })],
});
after(() => byEmail.close());

const whoami = (token: string, server: { url: string } = api): Promise<Response> =>
  fetch(`${server.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });

test("OIDC: a valid JWT signs in; expired, wrong audience, wrong issuer, foreign key and alg none get 401", async () => {
  const ok = await whoami(await jwt({}));
  assert.equal(ok.status, 200);
  // Prefixed by default, as kube-apiserver's --oidc-username-prefix / --oidc-groups-prefix.
  assert.deepEqual(await ok.json(), { username: "oidc:alice", groups: ["oidc:dev"] });
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${Buffer.from(JSON.stringify({ sub: "alice", iss: issuer, aud: AUDIENCE, exp: now + 300 })).toString("base64url")}.`;
  const bad: Array<[string, string]> = [
    ["expired", await jwt({ exp: now - 3600 })],
    ["wrong audience", await jwt({ aud: "someone-else" })],
    ["wrong issuer", await jwt({ iss: "https://evil.example" })],
    ["signed by another key", await jwt({ key: other.privateKey })],
    ["alg none", unsigned],
  ];
  for (const [what, token] of bad) {
    const reply = await whoami(token);
    assert.equal(reply.status, 401, what);
    const body = (await reply.json()) as { error: { code: string } };
    assert.equal(body.error.code, "Unauthenticated", what);
  }
});

test("OIDC: system: names (even without prefixes) and unverified emails get 401 with what to do", async () => {
  const verified = await whoami(await jwt({ extra: { email: "ann@example.com", email_verified: true } }), byEmail);
  assert.equal(verified.status, 200);
  assert.deepEqual(await verified.json(), { username: "ann@example.com", groups: ["dev"] });
  const prefixedAway = await whoami(await jwt({ sub: "system:admin", extra: { groups: ["system:masters"] } }));
  assert.deepEqual(await prefixedAway.json(), { username: "oidc:system:admin", groups: ["oidc:system:masters"] }, "with prefixes a system: claim is harmless");
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["email_verified false", { email: "ann@example.com", email_verified: false }, /email is not verified \(email_verified is not true\); verify the address with your identity provider/],
    ["email_verified missing", { email: "ann@example.com" }, /email is not verified/],
    ['email_verified "true" (a string)', { email: "ann@example.com", email_verified: "true" }, /email is not verified/],
    ["a system: group", { email: "ann@example.com", email_verified: true, groups: ["dev", "system:masters"] }, /group "system:masters" is refused: names starting with "system:" are reserved for Kubernetes/],
    ["a system: user name", { email: "system:kube-controller-manager", email_verified: true }, /user name "system:kube-controller-manager" is refused/],
  ];
  for (const [what, extra, message] of cases) {
    const token = await jwt({ extra });
    const reply = await whoami(token, byEmail);
    assert.equal(reply.status, 401, what);
    const text = await reply.text();
    assert.match((JSON.parse(text) as { error: { message: string } }).error.message, message, what);
    assert.ok(!text.includes(token.split(".")[1] ?? "-"), `${what}: nothing of the token in the answer`);
  }
});

/** Attempts an upgrade and reports the HTTP status it was refused with, or 101 when it opened. */
function upgradeStatus(path: string, options: { protocols?: string[]; origin?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; protocol?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}${path}`, options.protocols ?? ["agentbox.v1", `agentbox.bearer.${TOKENS.alice}`], {
      ...(options.origin ? { origin: options.origin } : {}),
      headers: options.headers ?? {},
    });
    ws.once("open", () => {
      resolve({ status: 101, body: "", protocol: ws.protocol });
      ws.close();
    });
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    ws.once("error", (err) => {
      if (!(err.message.includes("Unexpected server response"))) reject(err);
    });
  });
}

const terminal = (name: string): string => `/api/v1/namespaces/team/sessions/${name}/terminal`;

test("terminal WebSocket: every refusal happens before the upgrade, with the right status", async () => {
  await api.store.createSession("team", { name: "sec", spec: { agent: { image: "x" } } });
  await api.store.createSession("team", { name: "listed", spec: { agent: { image: "x" }, access: { users: ["alice"], viewers: [] } } });
  await api.store.createSession("team", { name: "finished", spec: { agent: { image: "x" } } });
  api.store.setPhase("team", "finished", "Failed");
  const cases: Array<[string, string, Parameters<typeof upgradeStatus>[1], number, RegExp]> = [
    ["cross-origin", terminal("sec"), { origin: "https://evil.example" }, 403, /origin https:\/\/evil.example is not allowed/],
    ["lookalike origin", terminal("sec"), { origin: `${api.url}.evil.example` }, 403, /not allowed/],
    ["token only in the query", `${terminal("sec")}?access_token=${TOKENS.alice}`, { protocols: ["agentbox.v1"] }, 400, /not accepted in the query string/],
    ["token in the query and the protocol", `${terminal("sec")}?token=${TOKENS.alice}`, {}, 400, /query string/],
    ["no token", terminal("sec"), { protocols: ["agentbox.v1"] }, 401, /sign in/],
    ["bad token", terminal("sec"), { protocols: ["agentbox.v1", "agentbox.bearer.nope-nope-nope-nope"] }, 401, /not accepted/],
    ["no agentbox.v1 subprotocol", terminal("sec"), { protocols: [`agentbox.bearer.${TOKENS.alice}`] }, 400, /subprotocol agentbox.v1/],
    ["no RBAC", terminal("sec"), { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.mallory}`] }, 403, /mallory may not open/],
    ["not on the access list", terminal("listed"), { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.bob}`] }, 403, /access lists/],
    ["no such session", terminal("ghost"), {}, 404, /no session ghost/],
    ["session finished", terminal("finished"), {}, 409, /is Failed/],
    ["bad session name", terminal("BAD"), {}, 400, /DNS label/],
    ["not a terminal path", "/api/v1/namespaces/team/sessions", {}, 404, /terminals are at/],
    ["bad percent-encoding", "/api/v1/namespaces/team/sessions/%E0%A4%A/terminal", {}, 400, /percent-encoding/],
    ["a viewer asking for a shell", "/api/v1/namespaces/team/sessions/sec/shell", { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.bob}`] }, 403, /needs create on agentsessions\/terminal/],
  ];
  for (const [what, path, options, status, message] of cases) {
    const reply = await upgradeStatus(path, options);
    assert.equal(reply.status, status, `${what}: ${reply.body}`);
    assert.match(reply.body, message, what);
    assert.doesNotMatch(reply.body, /token-0123456789/, `${what}: the token is never echoed`);
  }
  assert.deepEqual(api.hub.forSession("team/sec"), [], "no refused request reached the hub");
  const same = await upgradeStatus(terminal("sec"), { origin: api.url });
  assert.equal(same.status, 101, "the UI's own origin may connect");
  assert.equal(same.protocol, "agentbox.v1", "only agentbox.v1 is selected, never the bearer protocol");
  const cli = await upgradeStatus(terminal("sec"), { protocols: ["agentbox.v1"], headers: { authorization: `Bearer ${TOKENS.alice}` } });
  assert.equal(cli.status, 101, "a CLI may send the token as an Authorization header");
});

test("terminal WebSocket: a viewer's keystrokes are dropped, the user's are typed", async () => {
  await api.store.createSession("team", { name: "shared", spec: { agent: { image: "x" } } });
  const user = await TestViewer.connect(`${wsBase}${terminal("shared")}`, { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.alice}`] });
  const viewer = await TestViewer.connect(`${wsBase}${terminal("shared")}`, { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.bob}`] });
  const sharer = await TestViewer.connect(`${wsBase}${terminal("shared")}?mode=view`, { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.alice}`] });
  sockets.push(user, viewer, sharer);
  await until(() => [user, viewer, sharer].every((v) => v.snapshots === 1), "snapshots");
  assert.deepEqual([user, viewer, sharer].map((v) => v.controls.find((c) => c.type === "hello")?.role), ["rw", "ro", "ro"]);
  viewer.type("echo VIEWER-$((1+1))\r");
  sharer.type("echo SHARER-$((1+2))\r");
  user.type("echo USER-$((1+3))\r");
  await until(async () => (await viewer.text()).includes("USER-4"), "the user's command on the viewer's screen");
  const screen = await user.text();
  assert.doesNotMatch(screen, /VIEWER-|SHARER-/);
  await until(() => api.store.getSession("team", "shared").then((s) => s?.metadata.annotations?.["agentbox.dev/last-activity"] !== undefined), "activity annotation");
});

test("shell WebSocket: a fresh private shell per connection, closed when its viewer leaves", async () => {
  await api.store.createSession("team", { name: "shelly", spec: { agent: { image: "x" } } });
  const open = (): Promise<TestViewer> =>
    TestViewer.connect(`${wsBase}/api/v1/namespaces/team/sessions/shelly/shell`, { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.alice}`] });
  const first = await open();
  const second = await open();
  sockets.push(first, second);
  await until(() => first.snapshots === 1 && second.snapshots === 1, "snapshots");
  first.type("echo private-$AGENTBOX_PRIVATE_SHELL-$((5*5))\r");
  await until(async () => (await first.text()).includes("private-1-25"), "the private shell to answer");
  assert.doesNotMatch(await second.text(), /private-/, "the other shell did not see it");
  first.type("exit\r");
  await until(() => first.ws.readyState === WebSocket.CLOSED, "the socket to close when the shell exits");
  assert.ok(first.controls.some((c) => c.type === "upstream" && c.state === "ended"));
});
