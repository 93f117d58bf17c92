// Acceptance 2 of issue 6, the whole flow on the local cluster: AgentSessions whose credential
// comes from Vault through Kubernetes auth, reconciled by the operator into real pods whose
// sidecar (the platform image) logs in with its projected token. In a namespace the role binds,
// the agent's request reaches the upstream with the Vault value; in one it does not bind, the
// sidecar says why, the session shows CredentialsResolved=False naming the credential, and the
// agent never starts. Every log, event and status read on the way is scanned for the value.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as k8s from "@kubernetes/client-node";
import type { RunningOperator } from "../../operator/main.js";
import { waitFor } from "../support/wait.js";
import { configureKubernetesAuth, ROLE, type KubernetesAuth } from "../vault/kubernetes-auth.js";
import { startVault, vaultSkipReason, type VaultServer } from "../vault/start.js";
import { condition, createSession, installCrds, readSession, runOperator, waitForSession, type SessionObject } from "./operator-support.js";
import { connect, createNamespace, deleteNamespace, exec, SHELL_IMAGE, type Cluster } from "./support/cluster.js";
import { addHosts, loadImages, NODE_ADDRESS, startNodeUpstream, UPSTREAM_CA_CONFIGMAP, type NodeUpstream } from "./support/platform.js";

const HOST = "vault-upstream.agentbox.test";
const SESSION = "vault-agent";
const CREDENTIAL = "anthropic";
// Split so secret scanners do not take the fixture for a key; random, so a scan hit is this run's.
const VALUE = "sk-ant-api03-" + `E2EVAULT${randomBytes(30).toString("base64url")}`;

let cluster: Cluster;
let vault: VaultServer | undefined;
let upstream: NodeUpstream | undefined;
let undoHosts: (() => Promise<void>) | undefined;
let auth: KubernetesAuth | undefined;
let bound: string | undefined;
let unbound: string | undefined;
const operators: RunningOperator[] = [];

function sessionSpec(namespace: string): Record<string, unknown> {
  // The agent keeps calling the bound host until one call succeeds (its proxy and CA come from
  // the operator's env), then idles so the session stays Running.
  const call = `curl -sS --fail -o /dev/null -H "Authorization: Bearer $ANTHROPIC_API_KEY" https://${HOST}/vault-session`;
  return {
    agent: { image: SHELL_IMAGE, command: ["bash", "-c", `for i in $(seq 1 120); do ${call} && break; sleep 1; done; sleep 3600`] },
    credentials: [
      { name: CREDENTIAL, env: "ANTHROPIC_API_KEY", hosts: [HOST], inject: { headers: ["authorization"] }, source: { vault: { path: `kv/agentbox/${namespace}/anthropic`, key: "api_key" } } },
    ],
    // The upstream and Vault sit on the node's private address, refused unless allowed explicitly.
    egress: { allow: [HOST], allowPrivate: [`${NODE_ADDRESS}/32`] },
  };
}

async function podOf(namespace: string): Promise<k8s.V1Pod | undefined> {
  const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: `agentbox.dev/session=${SESSION}` });
  return pods.items[0];
}

async function sidecarLog(namespace: string, pod: string): Promise<string> {
  return cluster.core.readNamespacedPodLog({ namespace, name: pod, container: "sidecar" });
}

/** Where a session stuck: its status, its pod's container states and the sidecar's last log lines. */
async function diagnose(namespace: string): Promise<string> {
  const session = await readSession(cluster, namespace, SESSION).catch(() => undefined);
  const pod = await podOf(namespace).catch(() => undefined);
  const states = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])].map((status) => ({ name: status.name, state: status.state, last: status.lastState, restarts: status.restartCount }));
  const log = pod?.metadata?.name === undefined ? "" : await sidecarLog(namespace, pod.metadata.name).catch((error: unknown) => String(error));
  return `status ${JSON.stringify(session?.status)}; containers ${JSON.stringify(states)}; sidecar log tail:\n${log.split("\n").slice(-8).join("\n")}`;
}

/**
 * The sidecar's /metrics, read from inside the pod (exec in the sidecar container): the admin
 * port serves only probes to peers outside the pod, the API server's pod proxy included
 * (DESIGN invariant 14).
 */
async function sidecarMetrics(namespace: string, pod: string): Promise<string> {
  const script = "fetch('http://127.0.0.1:15021/metrics').then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.ok ? 0 : 1; })";
  const result = await exec(cluster, { namespace, pod, container: "sidecar" }, ["node", "-e", script]);
  if (result.exitCode !== 0) throw new Error(`the sidecar's /metrics from inside ${namespace}/${pod}: exit ${result.exitCode}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Everything a person (or the operator) can read about a session, for the value scan. */
async function readable(namespace: string): Promise<string> {
  const parts: string[] = [JSON.stringify(await readSession(cluster, namespace, SESSION))];
  parts.push(JSON.stringify((await cluster.core.listNamespacedEvent({ namespace })).items));
  const pod = await podOf(namespace);
  if (pod?.metadata?.name !== undefined) {
    parts.push(JSON.stringify(pod));
    for (const container of ["sidecar", "agent"]) {
      parts.push(await cluster.core.readNamespacedPodLog({ namespace, name: pod.metadata.name, container }).catch(() => ""));
    }
    parts.push(await sidecarMetrics(namespace, pod.metadata.name));
  }
  return parts.join("\n");
}

function leaks(text: string): boolean {
  return [VALUE, VALUE.slice(13), Buffer.from(VALUE).toString("base64").slice(4, -4)].some((form) => text.includes(form));
}

before(async () => {
  if (vaultSkipReason) return;
  cluster = connect();
  await installCrds(cluster);
  // The sidecar that logs in to Vault is the one in the platform image: rebuilt from this tree.
  await loadImages();
  vault = await startVault({ host: NODE_ADDRESS });
  upstream = await startNodeUpstream();
  undoHosts = await addHosts([HOST]);
  bound = await createNamespace(cluster, "vault-sess-bound");
  unbound = await createNamespace(cluster, "vault-sess-unbound");
  auth = await configureKubernetesAuth(vault, cluster, { reviewerNamespace: bound, boundNamespaces: [bound] });
  const vaultPort = Number(new URL(vault.address).port);
  for (const namespace of [bound, unbound]) {
    await vault.api("POST", `kv/data/agentbox/${namespace}/anthropic`, { data: { api_key: VALUE } });
    await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: UPSTREAM_CA_CONFIGMAP }, data: { "ca.crt": upstream.caPem } } });
    // One operator per namespace, as a platform would run one confined to its sessions.
    operators.push(
      await runOperator(cluster, namespace, {
        AGENTBOX_VAULT_ADDR: vault.address,
        AGENTBOX_VAULT_ROLE: ROLE,
        AGENTBOX_UPSTREAM_CA_CONFIGMAP: UPSTREAM_CA_CONFIGMAP,
        // The upstream is on the node's private address: the platform's bound must allow it (ADR 0004).
        AGENTBOX_ALLOW_PRIVATE_BOUND: JSON.stringify([`${NODE_ADDRESS}/32`]),
        AGENTBOX_EXTRA_EGRESS: JSON.stringify([{ to: [{ ipBlock: { cidr: `${NODE_ADDRESS}/32` } }], ports: [{ protocol: "TCP", port: vaultPort }] }]),
      }),
    );
    await createSession(cluster, namespace, SESSION, sessionSpec(namespace));
  }
});

after(async () => {
  for (const operator of operators) await operator.stop();
  await auth?.cleanup();
  for (const namespace of [bound, unbound]) if (namespace !== undefined) await deleteNamespace(cluster, namespace);
  await undoHosts?.();
  await upstream?.close();
  await vault?.stop();
});

describe("an AgentSession whose credential comes from Vault (Kubernetes auth)", { skip: vaultSkipReason }, () => {
  test("in a namespace the role binds: Running, CredentialsResolved, and the agent's request carries the Vault value", async () => {
    assert.ok(bound !== undefined && upstream !== undefined && vault !== undefined);
    const ns = bound;
    const session = await waitForSession(cluster, ns, SESSION, "Running", (s) => s.status?.phase === "Running", 180_000).catch(async (error: unknown) => {
      throw new Error(`the bound session did not run: ${await diagnose(ns)}`, { cause: error });
    });
    assert.equal(condition(session, "CredentialsResolved")?.status, "True", JSON.stringify(session.status));
    const seen = await waitFor("the upstream to receive the agent's request", () => upstream?.seen.find((request) => request.url === "/vault-session"), { timeoutMs: 120_000 });
    assert.equal(seen.authorization, `Bearer ${VALUE}`, "the sidecar swapped the stub for the value read from Vault");
    const pod = await podOf(bound);
    const log = await sidecarLog(bound, pod?.metadata?.name ?? "");
    assert.match(log, /"event":"credentials-resolved"/, "the sidecar reported its credentials resolved");
    assert.match(await sidecarMetrics(bound, pod?.metadata?.name ?? ""), /agentbox_sidecar_vault_credential_resolved\{credential="anthropic"\} 1/);
    // The login went through Kubernetes auth, checked by TokenReview (Vault's audit names the mount).
    assert.match(await readFile(vault.auditFile, "utf8"), /"path":"auth\/kubernetes\/login"/);
  });

  test("in a namespace the role does not bind: the sidecar names the credential and why, and the agent never starts", async () => {
    assert.ok(unbound !== undefined);
    const ns = unbound;
    const logged = await waitFor(
      "the sidecar's credentials-unresolved line",
      async () => {
        const pod = await podOf(ns);
        if (pod?.metadata?.name === undefined) return undefined;
        const log = await sidecarLog(ns, pod.metadata.name).catch(() => "");
        return log.split("\n").find((line) => line.includes('"event":"credentials-unresolved"'));
      },
      { timeoutMs: 180_000 },
    );
    const line = JSON.parse(logged) as { unresolved: Array<{ credential: string; reason: string; message: string }> };
    assert.deepEqual(line.unresolved.map((entry) => [entry.credential, entry.reason]), [[CREDENTIAL, "LoginFailed"]]);
    assert.match(line.unresolved[0]?.message ?? "", /Vault refused the login \(\d{3}\) while logging in with kubernetes auth at auth\/kubernetes/);
    const pod = await podOf(ns);
    const agent = pod?.status?.containerStatuses?.find((status) => status.name === "agent");
    assert.ok(agent === undefined || (agent.state?.running === undefined && agent.lastState?.running === undefined && agent.lastState?.terminated === undefined && agent.started !== true), `the agent container never started: ${JSON.stringify(agent)}`);
  });

  test("in a namespace the role does not bind: CredentialsResolved=False with the sidecar's reason and a message naming the credential", async () => {
    assert.ok(unbound !== undefined);
    const ns = unbound;
    // Before the operator has read the sidecar's log the condition may still say SidecarStarting.
    let last: unknown;
    const session: SessionObject = await waitForSession(cluster, ns, SESSION, "CredentialsResolved False with reason LoginFailed", (s) => {
      last = condition(s, "CredentialsResolved");
      return condition(s, "CredentialsResolved")?.reason === "LoginFailed";
    }, 120_000).catch((error: unknown) => {
      throw new Error(`CredentialsResolved never took the sidecar's reason; last seen: ${JSON.stringify(last)}`, { cause: error });
    });
    const resolved = condition(session, "CredentialsResolved");
    assert.equal(resolved?.status, "False", JSON.stringify(resolved));
    assert.match(resolved?.message ?? "", new RegExp(`${CREDENTIAL} \\(LoginFailed: Vault refused the login`));
    assert.notEqual(session.status?.phase, "Running");
    const agent = (await podOf(ns))?.status?.containerStatuses?.find((status) => status.name === "agent");
    assert.ok(agent?.state?.running === undefined && agent?.started !== true, "the agent is still not started");
  });

  test("no value in any status, event, pod, log, metric or Vault audit record (acceptance 3, e2e half)", async () => {
    assert.ok(bound !== undefined && unbound !== undefined && vault !== undefined);
    for (const namespace of [bound, unbound]) assert.equal(leaks(await readable(namespace)), false, `something readable in ${namespace} carries the value`);
    const audit = await readFile(vault.auditFile, "utf8");
    assert.ok(audit.includes(`kv/data/agentbox/${bound}/anthropic`), "the audit device recorded the read");
    assert.equal(leaks(audit), false, "Vault's audit records");
    assert.equal(leaks(vault.output()), false, "Vault's own output");
  });
});
