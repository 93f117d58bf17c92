// Issue 6, e2e half of the login: the sidecar's Vault credentials log in with Kubernetes auth,
// Vault checking the projected, audience-scoped token with the local cluster's TokenReview API,
// and the templated policy of docs/vault.md binding each namespace to its own paths. The full
// AgentSession flow (operator, pod, CredentialsResolved) builds on this once the operator
// reflects the sidecar's readiness.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSidecarConfig } from "../../sidecar/config.js";
import { VaultCredentials } from "../../sidecar/vault/credentials.js";
import { configureKubernetesAuth, ROLE, serviceAccountToken, type KubernetesAuth } from "../vault/kubernetes-auth.js";
import { startVault, vaultSkipReason, type VaultServer } from "../vault/start.js";
import { connect, createNamespace, deleteNamespace, type Cluster } from "./support/cluster.js";

let cluster: Cluster;
let vault: VaultServer;
let auth: KubernetesAuth | undefined;
let dir: string;
let bound: string;
let unbound: string;
const VALUE = `sk-ant-api03-E2E-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

async function credentialsFor(tokenFile: string): Promise<VaultCredentials> {
  const config = parseSidecarConfig({
    credentials: [{ name: "anthropic", stub: "sk-ant-api03-" + "stubE2Estubstubstub000000", hosts: ["api.anthropic.com"], source: { vault: { path: `kv/agentbox/${bound}/anthropic`, key: "api_key" } } }],
    vault: { address: vault.address, auth: { kubernetes: { role: ROLE, tokenFile } }, retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 50 } },
  });
  return VaultCredentials.create(config);
}

before(async () => {
  if (vaultSkipReason) return;
  cluster = connect();
  vault = await startVault();
  dir = await mkdtemp(join(tmpdir(), "agentbox-vault-e2e-"));
  bound = await createNamespace(cluster, "vault-bound");
  unbound = await createNamespace(cluster, "vault-unbound");
  auth = await configureKubernetesAuth(vault, cluster, { reviewerNamespace: bound, boundNamespaces: [bound] });
  await vault.api("POST", `kv/data/agentbox/${bound}/anthropic`, { data: { api_key: VALUE } });
  await vault.api("POST", `kv/data/agentbox/${unbound}/anthropic`, { data: { api_key: `${VALUE}-other` } });
});

after(async () => {
  await auth?.cleanup();
  if (cluster !== undefined) {
    if (bound !== undefined) await deleteNamespace(cluster, bound);
    if (unbound !== undefined) await deleteNamespace(cluster, unbound);
  }
  await vault?.stop();
});

test("a bound namespace's audience-scoped token logs in (TokenReview) and reads its own path", { skip: vaultSkipReason }, async () => {
  const tokenFile = join(dir, "bound-token");
  await writeFile(tokenFile, await serviceAccountToken(cluster, bound, "default", ["vault"]));
  const credentials = await credentialsFor(tokenFile);
  try {
    assert.equal(credentials.readiness(), undefined, credentials.readiness());
    assert.equal(await credentials.reader({ vault: { path: `kv/agentbox/${bound}/anthropic`, key: "api_key" } }, "anthropic"), VALUE);
  } finally {
    credentials.stop();
  }
});

test("a namespace the role does not bind, and a token for another audience, stay unresolved with a message", { skip: vaultSkipReason }, async () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ["unbound namespace", () => serviceAccountToken(cluster, unbound, "default", ["vault"])],
    ["wrong audience", () => serviceAccountToken(cluster, bound, "default", ["not-vault"])],
  ];
  for (const [what, token] of cases) {
    const tokenFile = join(dir, what.replaceAll(" ", "-"));
    await writeFile(tokenFile, await token());
    const credentials = await credentialsFor(tokenFile);
    try {
      const readiness = credentials.readiness() ?? "";
      assert.match(readiness, /^credential "anthropic" LoginFailed: Vault refused the login \(\d{3}\) while logging in with kubernetes auth at auth\/kubernetes/, what);
      assert.ok(!readiness.includes(VALUE), what);
    } finally {
      credentials.stop();
    }
  }
});
