// Configures a test Vault's Kubernetes auth against the local cluster the way docs/vault.md tells
// a platform team to: a token reviewer allowed to call TokenReview (system:auth-delegator), the
// cluster's CA, and the templated policy and role that bind each namespace's sessions to
// kv/agentbox/<namespace>/*. Used by the e2e tier.
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import type { Cluster } from "../e2e/support/cluster.js";
import type { VaultServer } from "./start.js";

export const ROLE = "agentbox-sidecar";
export const POLICY = "agentbox-sessions";
export const AUDIENCE = "vault";

export interface KubernetesAuthOptions {
  /** Namespace of the token reviewer's service account. */
  readonly reviewerNamespace: string;
  /** The namespaces whose `default` service account the role binds. */
  readonly boundNamespaces: readonly string[];
}

export interface KubernetesAuth {
  /** Removes what was created in the cluster (the ClusterRoleBinding); Vault itself is thrown away. */
  cleanup(): Promise<void>;
}

/** A short-lived token of `namespace/name` for `audiences` (the API server's default when empty). */
export async function serviceAccountToken(cluster: Cluster, namespace: string, name: string, audiences: string[]): Promise<string> {
  const request = await cluster.core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences, expirationSeconds: 3600 } } });
  const token = request.status?.token;
  if (token === undefined || token === "") throw new Error(`the API server issued no token for ${namespace}/${name}`);
  return token;
}

function clusterCa(kc: k8s.KubeConfig): string {
  const current = kc.getCurrentCluster();
  if (current === null) throw new Error("the kubeconfig names no cluster");
  if (current.caData !== undefined) return Buffer.from(current.caData, "base64").toString("utf8");
  if (current.caFile === undefined) throw new Error("the kubeconfig carries no cluster CA");
  return readFileSync(current.caFile, "utf8");
}

export async function configureKubernetesAuth(vault: VaultServer, cluster: Cluster, options: KubernetesAuthOptions): Promise<KubernetesAuth> {
  const reviewerBinding = `agentbox-e2e-vault-reviewer-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await cluster.core.createNamespacedServiceAccount({ namespace: options.reviewerNamespace, body: { metadata: { name: "vault-reviewer" } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: reviewerBinding, labels: { "agentbox.dev/e2e": "true" } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
      subjects: [{ kind: "ServiceAccount", name: "vault-reviewer", namespace: options.reviewerNamespace }],
    },
  });
  const cleanup = async (): Promise<void> => {
    await rbac.deleteClusterRoleBinding({ name: reviewerBinding }).catch(() => undefined);
  };
  try {
    const server = cluster.kc.getCurrentCluster()?.server;
    if (server === undefined) throw new Error("the kubeconfig names no API server");
    await vault.api("POST", "sys/auth/kubernetes", { type: "kubernetes" });
    await vault.api("POST", "auth/kubernetes/config", {
      kubernetes_host: server,
      kubernetes_ca_cert: clusterCa(cluster.kc),
      token_reviewer_jwt: await serviceAccountToken(cluster, options.reviewerNamespace, "vault-reviewer", []),
      disable_local_ca_jwt: true,
    });
    const auths = (await vault.api("GET", "sys/auth")) as { data: Record<string, { accessor: string }> };
    const accessor = auths.data["kubernetes/"]?.accessor;
    if (accessor === undefined) throw new Error("Vault lists no accessor for the kubernetes/ auth mount");
    await vault.api("PUT", `sys/policies/acl/${POLICY}`, {
      policy: `path "kv/data/agentbox/{{identity.entity.aliases.${accessor}.metadata.service_account_namespace}}/*" { capabilities = ["read"] }`,
    });
    await vault.api("POST", `auth/kubernetes/role/${ROLE}`, {
      bound_service_account_names: ["default"],
      bound_service_account_namespaces: options.boundNamespaces,
      audience: AUDIENCE,
      token_policies: [POLICY],
      token_ttl: "1h",
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { cleanup };
}
