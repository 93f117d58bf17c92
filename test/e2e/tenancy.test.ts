// Issue 14's tenancy holes, closed on the real cluster with the chart's roles and its
// session-authorization ValidatingAdmissionPolicy (docs/adr/0004-credential-authorization.md).
// People are ServiceAccounts bound to the chart's agent-user ClusterRole, talking to the API
// server with their own tokens, as kubectl would: the API server, not a field they write,
// decides who they are. Every test here fails on the code before issue 14.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../support/wait.js";
import { connect, createNamespace, isNotFound, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { DEFAULT_TOKEN_AUDIENCE } from "../../session-api/auth/token-audience.js";
import { AGENT_USER_CLUSTER_ROLE, deleteNamespaceAndWait, installPlatform, loadImages, NODE_ADDRESS, RELEASE, SESSION_API_URL, SYSTEM_NAMESPACE, type Platform } from "./support/platform.js";

const GROUP = "agentbox.dev";
const VERSION = "v1alpha1";
const PLURAL = "agentsessions";
const CREATED_BY = "agentbox.dev/created-by";
const BOUND_HOST = "upstream.agentbox.test";
const ATTACKER_HOST = "attacker.agentbox.test";
const TEAM_SECRET = "team-secret";
const NARROW_SECRET = "narrow-secret";
// Split so secret scanners do not take the fixture for a key; random, so any hit is this run's.
const REAL = "real-" + randomBytes(18).toString("hex");

let cluster: Cluster;
let platform: Platform | undefined;
let ns: string;

interface Person {
  username: string;
  sessions: k8s.CustomObjectsApi;
}
let alice: Person; // agent-user, may not read Secrets
let bob: Person; // agent-user, may not read Secrets
let carol: Person; // agent-user who may also get TEAM_SECRET and NARROW_SECRET

interface SessionObject {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: { phase?: string; podName?: string; conditions?: { type: string; status: string; reason: string; message: string }[] };
}

/** A client that authenticates with the person's own ServiceAccount token (default API audience). */
async function person(name: string, extraRules: k8s.V1PolicyRule[] = []): Promise<Person> {
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await cluster.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: { metadata: { name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: AGENT_USER_CLUSTER_ROLE }, subjects: [{ kind: "ServiceAccount", name, namespace: ns }] },
  });
  if (extraRules.length > 0) {
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: `${name}-extra` }, rules: extraRules } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: `${name}-extra` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${name}-extra` }, subjects: [{ kind: "ServiceAccount", name, namespace: ns }] },
    });
  }
  return serviceAccount(ns, name);
}

/** A client with a fresh token of ServiceAccount namespace/name (default API audience). */
async function serviceAccount(namespace: string, name: string): Promise<Person> {
  const request = await cluster.core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { expirationSeconds: 3600 } } });
  const token = request.status?.token;
  if (!token) throw new Error(`no token for ${namespace}/${name}`);
  const server = cluster.kc.getCurrentCluster();
  if (!server) throw new Error("the admin kubeconfig has no current cluster");
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [server], users: [{ name, token }], contexts: [{ name, cluster: server.name, user: name }], currentContext: name });
  return { username: `system:serviceaccount:${namespace}:${name}`, sessions: kc.makeApiClient(k8s.CustomObjectsApi) };
}

const admin = (): k8s.CustomObjectsApi => cluster.kc.makeApiClient(k8s.CustomObjectsApi);

/** A plain (non-ServiceAccount) user bound to agent-user, reached as `kubectl --as <username>` does: the admin impersonating them. */
async function impersonated(username: string): Promise<Person> {
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: { metadata: { name: `user-${username}` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: AGENT_USER_CLUSTER_ROLE }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: username }] },
  });
  const server = cluster.kc.getCurrentCluster();
  const user = cluster.kc.getCurrentUser();
  if (!server || !user) throw new Error("the admin kubeconfig has no current cluster or user");
  const kc = new k8s.KubeConfig();
  const name = `as-${username}`;
  kc.loadFromOptions({ clusters: [server], users: [{ ...user, name, impersonateUser: username }], contexts: [{ name, cluster: server.name, user: name }], currentContext: name });
  return { username, sessions: kc.makeApiClient(k8s.CustomObjectsApi) };
}

function manifest(name: string, spec: Record<string, unknown>, createdBy?: string): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentSession", metadata: { name, ...(createdBy === undefined ? {} : { annotations: { [CREATED_BY]: createdBy } }) }, spec };
}

async function create(api: k8s.CustomObjectsApi, body: Record<string, unknown>): Promise<SessionObject> {
  return (await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body })) as SessionObject;
}

async function patch(api: k8s.CustomObjectsApi, name: string, body: Record<string, unknown>): Promise<SessionObject> {
  return (await api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch))) as SessionObject;
}

async function read(name: string): Promise<SessionObject | undefined> {
  try {
    return (await admin().getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as SessionObject;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The API server's refusal: its HTTP status and its message (the policy's message). */
async function refusal(write: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await write;
  } catch (error) {
    const e = error as { code?: number; body?: unknown };
    const body = typeof e.body === "string" ? (JSON.parse(e.body) as { message?: string }) : ((e.body ?? {}) as { message?: string });
    return { code: e.code ?? 0, message: body.message ?? String(error) };
  }
  assert.fail("the write was admitted");
}

const condition = (s: SessionObject | undefined, type: string): { status: string; reason: string; message: string } | undefined => s?.status?.conditions?.find((c) => c.type === type);

async function waitForCondition(name: string, type: string, reason: string, timeoutMs = 90_000): Promise<SessionObject> {
  return waitFor(`session ${name}: ${type} ${reason}`, async () => {
    const s = await read(name);
    return condition(s, type)?.reason === reason ? s : undefined;
  }, { timeoutMs, intervalMs: 500 });
}

async function waitForRunning(name: string): Promise<SessionObject> {
  return waitFor(`session ${name} Running`, async () => {
    const s = await read(name);
    if (s?.status?.phase === "Failed" || s?.status?.phase === "Pending" && condition(s, "CredentialsResolved")?.status === "False") throw new Error(`session ${name}: ${JSON.stringify(s.status)}`);
    return s?.status?.phase === "Running" ? s : undefined;
  }, { timeoutMs: 180_000, intervalMs: 500 });
}

const agent = { image: SHELL_IMAGE, command: ["sleep", "3600"], tty: false, resources: { requests: { cpu: "10m", memory: "32Mi" } } };
const secretCredential = (name: string, secret: string, hosts: string[]): Record<string, unknown> => ({ name, env: `${name.toUpperCase()}_TOKEN`, hosts, source: { secretKeyRef: { name: secret, key: "token" } } });

before(async () => {
  cluster = connect();
  await loadImages();
  ns = await createNamespace(cluster, "tenancy");
  platform = await installPlatform(cluster, ns, { upstreamCa: false });
  for (const [name, annotations] of [[TEAM_SECRET, undefined], [NARROW_SECRET, { "agentbox.dev/allowed-hosts": BOUND_HOST }]] as const) {
    await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name, ...(annotations ? { annotations } : {}) }, stringData: { token: REAL } } });
  }
  [alice, bob, carol] = await Promise.all([
    person("alice"),
    person("bob"),
    person("carol", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: [TEAM_SECRET, NARROW_SECRET] }]),
  ]);
  // Templates are the platform's (agent users may only read them): written by the admin.
  const templates = (s: Record<string, unknown>, name: string): Promise<unknown> =>
    admin().createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "agenttemplates", body: { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentTemplate", metadata: { name }, spec: s } });
  await templates({ agent, credentials: [secretCredential("upstream", TEAM_SECRET, [BOUND_HOST])], locked: ["credentials", "agent.image"] }, "locked-credential");
  await templates({ agent, credentials: [secretCredential("upstream", NARROW_SECRET, [BOUND_HOST, ATTACKER_HOST])] }, "wider-than-its-secret");
  await templates({ agent, egress: { allowPrivate: ["169.254.169.254/32"] } }, "metadata-egress");
  // The policy takes effect once the API server's admission informer has it: until a forged
  // creator is refused, it has not.
  await waitFor("the session-authorization policy in force", async () => {
    try {
      await create(alice.sessions, manifest("probe-policy", { agent }, "someone-else"));
    } catch (error) {
      if ((error as { code?: number }).code === 403) return true;
      throw error;
    }
    await admin().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "probe-policy" });
    return undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
});

after(async () => {
  await platform?.uninstall().catch(() => undefined);
  if (ns) await deleteNamespaceAndWait(cluster, ns).catch(() => undefined);
});

test("finding 1: an agent user who may not get Secrets cannot bind one of the namespace to a host of their choosing", { timeout: 120_000 }, async () => {
  const steal = (name: string, secret: string): Promise<SessionObject> => create(alice.sessions, manifest(name, { agent, credentials: [secretCredential("steal", secret, [ATTACKER_HOST])] }, alice.username));
  const refused = await refusal(steal("steal-existing", TEAM_SECRET));
  assert.equal(refused.code, 403);
  assert.match(refused.message, new RegExp(`spec\\.credentials\\[steal\\]: you \\(${alice.username}\\) may not get Secret ${TEAM_SECRET} in namespace ${ns}`));
  // Whether the Secret exists makes no difference to the answer: no oracle.
  const absent = await refusal(steal("steal-absent", "no-such-secret"));
  assert.equal(absent.code, 403);
  assert.equal(absent.message.replaceAll("no-such-secret", TEAM_SECRET).replaceAll("steal-absent", "steal-existing"), refused.message);
  // A Vault path needs its own grant (use on vaultpaths), which no chart role gives.
  const vault = await refusal(create(alice.sessions, manifest("steal-vault", { agent, credentials: [{ name: "v", env: "V_TOKEN", hosts: [ATTACKER_HOST], source: { vault: { path: `kv/agentbox/${ns}/anthropic`, key: "api_key" } } }] }, alice.username)));
  assert.match(vault.message, /spec\.credentials\[v\]: .*may not use Vault path kv\/agentbox\/.*vaultpaths\.agentbox\.dev/);
  // Nor can a credential be added later to a session created without one.
  await create(alice.sessions, manifest("later", { agent }, alice.username));
  const added = await refusal(patch(alice.sessions, "later", { spec: { credentials: [secretCredential("steal", TEAM_SECRET, [ATTACKER_HOST])] } }));
  assert.match(added.message, /may not get Secret team-secret/);
  // The same for a person kubectl impersonates (--as): the policy sees the impersonated user.
  const dave = await impersonated("dave@example.com");
  const asDave = await refusal(create(dave.sessions, manifest("steal-as", { agent, credentials: [secretCredential("steal", TEAM_SECRET, [ATTACKER_HOST])] }, dave.username)));
  assert.equal(asDave.code, 403);
  assert.match(asDave.message, new RegExp(`spec\\.credentials\\[steal\\]: you \\(${dave.username}\\) may not get Secret ${TEAM_SECRET} in namespace ${ns}`));
  for (const name of ["steal-existing", "steal-absent", "steal-vault", "steal-as"]) assert.equal(await read(name), undefined, `${name} does not exist`);
});

test("finding 1, through the session API: it writes as the signed-in person, so the same rules refuse and record them", { timeout: 60_000 }, async () => {
  // alice's token for the session API's audience, as `kubectl create token alice --audience agentbox-session-api`.
  const issued = await cluster.core.createNamespacedServiceAccountToken({ name: "alice", namespace: ns, body: { spec: { expirationSeconds: 3600, audiences: [DEFAULT_TOKEN_AUDIENCE] } } });
  const token = issued.status?.token;
  assert.ok(token, "a session API token for alice");
  const post = (body: unknown): Promise<Response> =>
    fetch(`${SESSION_API_URL}/api/v1/namespaces/${ns}/sessions`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const steal = await post({ name: "api-steal", spec: { agent, credentials: [secretCredential("steal", TEAM_SECRET, [ATTACKER_HOST])] } });
  const stealText = await steal.text();
  assert.equal(steal.status, 403, stealText);
  assert.match(stealText, new RegExp(`spec\\.credentials\\[steal\\]: you \\(${alice.username}\\) may not get Secret ${TEAM_SECRET}`), "the API server's refusal, as alice, reaches the client");
  assert.equal(await read("api-steal"), undefined);
  const templated = await post({ name: "api-templated", spec: { templateRef: { name: "locked-credential" } } });
  assert.equal(templated.status, 201, await templated.clone().text());
  assert.equal((await read("api-templated"))?.metadata.annotations?.[CREATED_BY], alice.username, "the session API records the signed-in person as the creator");
});

test("finding 1: the same user may use a template's locked credential, and cannot widen it", { timeout: 240_000 }, async () => {
  await create(alice.sessions, manifest("templated", { templateRef: { name: "locked-credential" } }, alice.username));
  const running = await waitForRunning("templated");
  assert.equal(condition(running, "CredentialsResolved")?.reason, "SidecarStarted", "the sidecar read the template's Secret");
  const widened = await refusal(create(alice.sessions, manifest("widened", { templateRef: { name: "locked-credential" }, credentials: [secretCredential("upstream", TEAM_SECRET, [BOUND_HOST, ATTACKER_HOST])] }, alice.username)));
  assert.match(widened.message, /spec\.credentials\[upstream\]: .*may not get Secret team-secret/, "a session's own copy of a template credential is checked like any other");
});

test("finding 1: a session created by a user who may read the Secret works", { timeout: 240_000 }, async () => {
  await create(carol.sessions, manifest("carols", { agent, credentials: [secretCredential("upstream", TEAM_SECRET, [BOUND_HOST])] }, carol.username));
  const running = await waitForRunning("carols");
  assert.equal(condition(running, "CredentialsResolved")?.reason, "SidecarStarted");
  assert.equal(running.metadata.annotations?.[CREATED_BY], carol.username);
});

test("finding 1: a forged creator is refused, a missing one names the user, and the creator is immutable; admins need none", { timeout: 60_000 }, async () => {
  const forged = await refusal(create(alice.sessions, manifest("forged", { agent }, carol.username)));
  assert.equal(forged.code, 403);
  assert.match(forged.message, new RegExp(`set it to "${alice.username}" instead of "${carol.username}"`));
  const missing = await refusal(create(alice.sessions, manifest("anonymous", { agent })));
  assert.match(missing.message, new RegExp(`metadata\\.annotations\\["agentbox\\.dev/created-by"\\] must be your user name: set it to "${alice.username}"`));
  const rewritten = await refusal(patch(alice.sessions, "later", { metadata: { annotations: { [CREATED_BY]: carol.username } } }));
  assert.match(rewritten.message, /is immutable/);
  await create(admin(), manifest("by-admin", { agent }));
  assert.ok(await read("by-admin"), "cluster-admin creates sessions without the annotation, as the other e2e tests do");
});

test("finding 4: a Secret's allowed-hosts rule cannot be widened, by a template or by a session", { timeout: 120_000 }, async () => {
  await create(alice.sessions, manifest("via-template", { templateRef: { name: "wider-than-its-secret" } }, alice.username));
  const refusedTemplate = await waitForCondition("via-template", "CredentialsResolved", "CredentialNotAllowed");
  const c = condition(refusedTemplate, "CredentialsResolved")!;
  assert.equal(c.status, "False");
  assert.match(c.message, new RegExp(`credential upstream: Secret ${NARROW_SECRET} may be sent only to ${BOUND_HOST.replaceAll(".", "\\.")} .*not to ${ATTACKER_HOST.replaceAll(".", "\\.")}`));
  assert.equal(refusedTemplate.status?.podName, undefined, "no pod mounted the Secret");
  await create(carol.sessions, manifest("carol-wider", { agent, credentials: [secretCredential("upstream", NARROW_SECRET, [ATTACKER_HOST])] }, carol.username));
  const refusedOwn = await waitForCondition("carol-wider", "CredentialsResolved", "CredentialNotAllowed");
  assert.equal(refusedOwn.status?.phase, "Pending");
  const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: "agentbox.dev/session in (via-template,carol-wider)" });
  assert.deepEqual(pods.items.map((p) => p.metadata?.name), []);
});

test("finding 6: a second agent user cannot patch the first one's spec or access list; metadata and status writes still pass", { timeout: 60_000 }, async () => {
  const image = await refusal(patch(bob.sessions, "later", { spec: { agent: { image: "evil.example/agent:1" } } }));
  assert.equal(image.code, 403);
  assert.match(image.message, new RegExp(`spec of AgentSession later may be changed only by its creator \\(${alice.username}\\) or a platform admin; you are ${bob.username}`));
  const access = await refusal(patch(bob.sessions, "later", { spec: { access: { users: [bob.username] } } }));
  assert.match(access.message, /may be changed only by its creator/);
  // Metadata-only writes (the session API's activity annotation, labels) are nobody's spec.
  const touched = await patch(bob.sessions, "later", { metadata: { annotations: { "agentbox.dev/last-activity": new Date().toISOString() } } });
  assert.ok(touched.metadata.annotations?.["agentbox.dev/last-activity"]);
  // The creator may change their own session, access list included.
  const own = await patch(alice.sessions, "later", { spec: { access: { users: [carol.username] } } });
  assert.deepEqual((own.spec.access as { users: string[] }).users, [carol.username]);
  // The operator's status writes go through /status, which the policy does not match.
  await waitFor("the operator writes the status of later", async () => ((await read("later"))?.status?.phase ? true : undefined), { timeoutMs: 60_000 });
});

test("the platform's own writes pass: the session API's service account touches last-activity on anyone's session (and no spec), the garbage collector removes a finalizer", { timeout: 90_000 }, async () => {
  // The chart's session API identity, with its chart RBAC (patch on agentsessions), as the running session API uses it.
  const sessionApi = await serviceAccount(SYSTEM_NAMESPACE, `${RELEASE}-session-api`);
  const at = new Date().toISOString();
  const touched = await patch(sessionApi.sessions, "later", { metadata: { annotations: { "agentbox.dev/last-activity": at } } });
  assert.equal(touched.metadata.annotations?.["agentbox.dev/last-activity"], at, "a session alice created");
  assert.equal(touched.metadata.annotations?.[CREATED_BY], alice.username);
  const spec = await refusal(patch(sessionApi.sessions, "later", { spec: { agent: { image: "evil.example/agent:1" } } }));
  assert.equal(spec.code, 403);
  assert.match(spec.message, new RegExp(`may be changed only by its creator \\(${alice.username}\\) or a platform admin; you are ${sessionApi.username}`));
  // Foreground deletion: the API server adds the foregroundDeletion finalizer and the garbage
  // collector removes it with an UPDATE of the main resource, which the policy matches.
  await create(alice.sessions, manifest("foreground", { agent }, alice.username));
  await admin().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "foreground", propagationPolicy: "Foreground" });
  await waitFor("session foreground deleted through its finalizer", async () => ((await read("foreground")) === undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
});

test("finding 4: egress.allowPrivate beyond the platform's bound is refused with a message, at admission and by the operator", { timeout: 120_000 }, async () => {
  for (const [who, api, createdBy] of [["alice", alice.sessions, alice.username], ["admin", admin(), undefined]] as const) {
    const r = await refusal(create(api, manifest(`metadata-${who}`, { agent, egress: { allowPrivate: ["169.254.169.254/32", `${NODE_ADDRESS}/32`] } }, createdBy)));
    assert.equal(r.code, 403, who);
    assert.match(r.message, new RegExp(`spec\\.egress\\.allowPrivate: 169\\.254\\.169\\.254/32 is outside the private ranges this platform allows sessions to open \\(${NODE_ADDRESS.replaceAll(".", "\\.")}/32; chart value egress\\.allowPrivateBound\\)`), who);
  }
  await create(alice.sessions, manifest("in-bound", { agent, egress: { allowPrivate: [`${NODE_ADDRESS}/32`] } }, alice.username));
  // A template is not checked at admission; the operator refuses the merged spec.
  await create(alice.sessions, manifest("template-metadata", { templateRef: { name: "metadata-egress" } }, alice.username));
  const s = await waitForCondition("template-metadata", "Ready", "EgressNotAllowed");
  assert.match(condition(s, "Ready")!.message, /169\.254\.169\.254\/32 is outside/);
  const policies = await cluster.kc.makeApiClient(k8s.NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: ns, labelSelector: "agentbox.dev/session=template-metadata" });
  assert.deepEqual(policies.items, [], "no NetworkPolicy opened the metadata address");
});

test("finding 6: inject.body only from a template", { timeout: 30_000 }, async () => {
  const r = await refusal(create(carol.sessions, manifest("body", { agent, credentials: [{ ...secretCredential("upstream", TEAM_SECRET, [BOUND_HOST]), inject: { headers: ["authorization"], body: true } }] }, carol.username)));
  assert.match(r.message, /spec\.credentials\[upstream\]\.inject\.body: only an AgentTemplate may let a credential be substituted in request bodies/);
});
