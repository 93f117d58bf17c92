// Shared set-up for the operator e2e tests: install the generated CRDs, run the operator
// in-process against the cluster (until the platform image runs it in a pod), small waits.
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { loadConfig } from "../../operator/config.js";
import { startOperator, type RunningOperator } from "../../operator/main.js";
import { waitFor } from "../support/wait.js";
import type { Cluster } from "./support/cluster.js";

export const GROUP = "agentbox.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "agentsessions";

export async function installCrds(cluster: Cluster): Promise<void> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(cluster.kc);
  const ext = cluster.kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const file of ["crds/agentbox.dev_agentsessions.yaml", "crds/agentbox.dev_agenttemplates.yaml"]) {
    // The client serialises typed models: raw YAML must be deserialised into one first, or
    // fields such as `enum` and `x-kubernetes-validations` are silently dropped.
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(file, "utf8"));
    await objects.patch(crd, undefined, undefined, "agentbox-e2e", true, k8s.PatchStrategy.ServerSideApply);
    await waitFor(`CRD ${crd.metadata!.name} established`, async () => {
      const live = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      return live.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    });
  }
}

export function customApi(cluster: Cluster): k8s.CustomObjectsApi {
  return cluster.kc.makeApiClient(k8s.CustomObjectsApi);
}

export function sessionManifest(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: "AgentSession", metadata: { name }, spec };
}

/** Runs an operator in this process, watching one namespace. */
export async function runOperator(cluster: Cluster, namespace: string, env: Record<string, string> = {}): Promise<RunningOperator> {
  const config = loadConfig(
    { AGENTBOX_WATCH_NAMESPACE: namespace, AGENTBOX_METRICS_ADDRESS: "127.0.0.1", AGENTBOX_METRICS_PORT: "0", POD_NAMESPACE: namespace, AGENTBOX_LEADER_ELECTION: "false", LOG_LEVEL: "warn", ...env },
    [],
  );
  return startOperator(config, cluster.kc);
}

export interface SessionObject {
  metadata: { name: string; uid: string; generation?: number };
  status?: { phase?: string; conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[]; exitCode?: number; podName?: string; observedGeneration?: number };
}

export async function readSession(cluster: Cluster, namespace: string, name: string): Promise<SessionObject | undefined> {
  try {
    return (await customApi(cluster).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as SessionObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

export async function waitForSession(cluster: Cluster, namespace: string, name: string, what: string, ok: (s: SessionObject) => boolean, timeoutMs = 60_000): Promise<SessionObject> {
  return waitFor(`session ${name}: ${what}`, async () => {
    const s = await readSession(cluster, namespace, name);
    return s && ok(s) ? s : undefined;
  }, { timeoutMs });
}

/** Whether the cluster has a Ready node, i.e. whether pods actually run (not just get created). */
export async function hasReadyNode(cluster: Cluster): Promise<boolean> {
  const nodes = await cluster.core.listNode();
  return nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
}

/** Objects in `namespace` labelled as belonging to `session`, by kind. */
export async function ownedObjects(cluster: Cluster, namespace: string, session: string): Promise<string[]> {
  const labelSelector = `agentbox.dev/session=${session}`;
  const net = cluster.kc.makeApiClient(k8s.NetworkingV1Api);
  const [pods, secrets, pvcs, nps] = await Promise.all([
    cluster.core.listNamespacedPod({ namespace, labelSelector }),
    cluster.core.listNamespacedSecret({ namespace, labelSelector }),
    cluster.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    net.listNamespacedNetworkPolicy({ namespace, labelSelector }),
  ]);
  return [
    ...pods.items.map((o) => `Pod/${o.metadata!.name!}`),
    ...secrets.items.map((o) => `Secret/${o.metadata!.name!}`),
    ...pvcs.items.map((o) => `PersistentVolumeClaim/${o.metadata!.name!}`),
    ...nps.items.map((o) => `NetworkPolicy/${o.metadata!.name!}`),
  ].sort();
}

export async function createSession(cluster: Cluster, namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await customApi(cluster).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body: sessionManifest(name, spec) });
}

export async function deleteSession(cluster: Cluster, namespace: string, name: string): Promise<void> {
  try {
    await customApi(cluster).deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
  }
}

export const condition = (s: SessionObject, type: string): { status: string; reason: string; message: string } | undefined => s.status?.conditions?.find((c) => c.type === type);

/** The operator's reconcile count, read from its /metrics. */
export async function reconcileCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^agentbox_reconcile_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}
