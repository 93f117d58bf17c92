// The pool's side of warm pools: keep `warmPool.size` warm pods per template, built from the
// template as it is now. Serialised per template by the work queue (key `pool:<ns>/<name>`).
import { randomBytes } from "node:crypto";
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_VERSION } from "../crds/agentsession.js";
import { AgentTemplateSpec } from "../crds/agenttemplate.js";
import { mergeTemplate } from "../crds/merge.js";
import type { PlatformOptions } from "./desired.js";
import { recordEvent } from "./events.js";
import { createIfAbsent, readOptional, statusOf, type Clients } from "./kube.js";
import { names, WARM_POOL_LABEL } from "./names.js";
import type { Caches } from "./reconcile.js";
import { ensureStubs } from "./stubs.js";
import { SECRET_RETRY_MS } from "./decide.js";
import { checkCredentialSecrets } from "./credential-rules.js";
import { lookUpCredentialSecrets } from "./secret-lookup.js";
import { secretRefs } from "./secret-refs.js";
import { desiredWarm, inPool, ownedByPod, planPool, poolRefusal, poolSize, templatePoolHash, warmPodName, type PoolTemplate } from "./warm-pool.js";

/** What the pool reconciler remembers between passes (per process; rebuilt from the cluster after a restart). */
export interface PoolState {
  /** Per pool key: warm pods created (name → when) that the cache has not shown yet. */
  pending: Map<string, Map<string, number>>;
  /** UIDs of warm pods whose mounted objects are known to exist. */
  verified: Set<string>;
  /**
   * Warm pods (`<ns>/<name>`) a session adopted that the cache may still show as warm; the pool
   * does not count them, so it refills at once instead of after the pod's next event.
   */
  taken: Set<string>;
  /** Per pool key: when a session last took one of its pods (epoch ms). */
  lastAdoption: Map<string, number>;
  /** Template UID + generation already warned about (one event per problem). */
  warned: Set<string>;
}

export interface PoolDeps {
  clients: Clients;
  caches: Caches;
  platform: PlatformOptions;
  log: Logger;
  state: PoolState;
  now?: () => number;
}

/** How long a created pod may be missing from the cache before it is no longer counted. */
const PENDING_MS = 30_000;

/**
 * Brings one template's pool to its size: deletes stale and extra warm pods (with a
 * resourceVersion precondition, so a pod a session adopted meanwhile is left alone), replaces
 * warm pods whose mounted objects are missing, and creates the rest. A deleted template needs
 * nothing: its warm pods, and theirs, are garbage-collected through owner references.
 */
export async function reconcilePool(deps: PoolDeps, key: string): Promise<{ requeueAfterMs?: number }> {
  const [namespace, name] = key.split("/") as [string, string];
  const raw = deps.caches.template(namespace, name) as (KubernetesObject & { spec?: unknown }) | undefined;
  const pending = deps.state.pending.get(key) ?? new Map<string, number>();
  if (!raw || raw.metadata?.deletionTimestamp) {
    deps.state.pending.delete(key);
    deps.state.lastAdoption.delete(key);
    return {};
  }
  const parsed = AgentTemplateSpec.safeParse(raw.spec);
  if (!parsed.success) return {}; // sessions naming it report the problem
  const template: PoolTemplate = { name, namespace, uid: raw.metadata?.uid ?? "", spec: parsed.data };
  const pods = deps.caches.podsIn(namespace);
  const now = deps.now?.() ?? Date.now();
  for (const [pod, at] of pending) if (pods.some((p) => p.metadata?.name === pod) || now - at > PENDING_MS) pending.delete(pod);
  for (const id of deps.state.taken) {
    const [ns, pod] = id.split("/") as [string, string];
    const seen = deps.caches.pod(ns, pod);
    if (!seen?.metadata?.labels?.[WARM_POOL_LABEL]) deps.state.taken.delete(id);
  }
  const members = pods.filter((p) => inPool(p, template) && !deps.state.taken.has(`${namespace}/${p.metadata?.name ?? ""}`));
  const size = poolSize(template.spec);
  const built = size > 0 ? templatePoolHash(template, deps.platform) : undefined;
  if (size > 0 && built === undefined) await warnOnce(deps, raw, "WarmPoolNotBuilt", "warmPool is ignored: a session naming this template alone would not build (no agent.image, a credential the operator cannot wire, or egress.allowPrivate outside the platform's bound); fix the template");
  // A warm pod's sidecar reads the template's credentials before any session exists: the
  // Secrets' own allowed-hosts rules are checked first, and a pool they refuse is emptied.
  const secrets = built !== undefined ? await secretsAllow(deps, raw, template) : "allowed";
  const hash = secrets === "allowed" ? built : undefined;
  const refusal = poolRefusal(template.spec);
  if (refusal) await warnOnce(deps, raw, "WarmPoolIgnored", refusal);

  const adoptedAt = deps.state.lastAdoption.get(key);
  const plan = planPool({ members, size, hash, pending: pending.size, ...(adoptedAt !== undefined ? { msSinceAdoption: now - adoptedAt } : {}) });
  const broken = await unverified(deps, members.filter((p) => !plan.remove.includes(p)));
  await Promise.all([...plan.remove, ...broken].map((p) => removeWarm(deps, p)));
  const created = await Promise.all(Array.from({ length: plan.create + broken.length }, () => createWarm(deps, template, pending, now)));
  if (pending.size > 0) deps.state.pending.set(key, pending);
  else deps.state.pending.delete(key);
  if (plan.create > 0 || plan.remove.length > 0 || broken.length > 0) {
    deps.log.info({ pool: key, size, members: members.length, created: created.filter(Boolean).length, removed: plan.remove.length, replaced: broken.length }, "warm pool resized");
  }
  const requeue = Math.min(plan.requeueAfterMs ?? Infinity, pending.size > 0 ? PENDING_MS : Infinity, secrets === "missing" ? SECRET_RETRY_MS : Infinity);
  return Number.isFinite(requeue) ? { requeueAfterMs: requeue } : {};
}

/** Warm pods whose mounted objects are missing (a crash while creating them): they are replaced. */
async function unverified(deps: PoolDeps, pods: readonly V1Pod[]): Promise<V1Pod[]> {
  const broken = await Promise.all(
    pods.map(async (pod): Promise<V1Pod | undefined> => {
      const uid = pod.metadata?.uid ?? "";
      if (deps.state.verified.has(uid)) return undefined;
      const n = names(pod.metadata?.name ?? "");
      const ns = pod.metadata?.namespace ?? "";
      const found = await Promise.all([
        readOptional(deps.clients, { apiVersion: "v1", kind: "Secret", metadata: { name: n.stubs, namespace: ns } }),
        readOptional(deps.clients, { apiVersion: "v1", kind: "Secret", metadata: { name: n.sidecarConfig, namespace: ns } }),
        readOptional(deps.clients, { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: n.networkPolicy, namespace: ns } }),
      ]);
      if (found.every((o) => o !== undefined)) {
        deps.state.verified.add(uid);
        return undefined;
      }
      return pod;
    }),
  );
  return broken.filter((p): p is V1Pod => p !== undefined);
}

async function removeWarm(deps: PoolDeps, pod: V1Pod): Promise<void> {
  const { name = "", namespace = "", uid = "", resourceVersion = "" } = pod.metadata ?? {};
  deps.state.verified.delete(uid);
  try {
    // The resourceVersion precondition loses to a session's adoption (which changes it): a pod
    // taken meanwhile is never deleted from under its session. Its objects go with it (owner refs).
    await deps.clients.core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid, resourceVersion }, gracePeriodSeconds: 0 } });
  } catch (e) {
    if (statusOf(e) !== 404 && statusOf(e) !== 409) throw new Error(`cannot delete warm pod ${namespace}/${name}`, { cause: e });
  }
}

const randomSuffix = (): string => {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join("");
};

/** Creates one warm pod, then the objects it mounts, owned by it; undoes the pod if they fail. */
async function createWarm(deps: PoolDeps, template: PoolTemplate, pending: Map<string, number>, now: number): Promise<boolean> {
  const merged = mergeTemplate({ templateRef: { name: template.name } }, template.spec, template.name);
  if (!merged.ok) return false;
  const podName = warmPodName(template.name, randomSuffix());
  const warm = desiredWarm({ template, podName, stubs: ensureStubs({}, merged.spec.credentials ?? []), platform: deps.platform });
  if (!warm) return false;
  const pod = await createIfAbsent(deps.clients, warm.pod);
  if (!pod) return false; // a name clash: the next pass draws another name
  pending.set(podName, now);
  try {
    await Promise.all(warm.children.map((c) => createIfAbsent(deps.clients, ownedByPod(c, pod))));
    deps.state.verified.add(pod.metadata?.uid ?? "");
    return true;
  } catch (e) {
    await removeWarm(deps, pod).catch(() => undefined);
    throw new Error(`cannot create the objects of warm pod ${template.namespace}/${podName}`, { cause: e });
  }
}

/**
 * Whether every credential Secret of the template exists ("missing" otherwise: looked at again
 * shortly, Secrets are not watched) and its allowed-hosts rule covers the credential's hosts.
 */
async function secretsAllow(deps: PoolDeps, raw: KubernetesObject, template: PoolTemplate): Promise<"allowed" | "refused" | "missing"> {
  const merged = mergeTemplate({ templateRef: { name: template.name } }, template.spec, template.name);
  if (!merged.ok || secretRefs(merged.spec).length === 0) return "allowed";
  const verdict = checkCredentialSecrets(merged.spec, await lookUpCredentialSecrets(deps.clients, template.namespace, merged.spec));
  if (verdict.notAllowed.length > 0) {
    await warnOnce(deps, raw, "CredentialNotAllowed", `warmPool is ignored: ${verdict.notAllowed.join("; ")}`);
    return "refused";
  }
  return verdict.missing.length > 0 ? "missing" : "allowed";
}

async function warnOnce(deps: PoolDeps, template: KubernetesObject, reason: string, message: string): Promise<void> {
  const id = `${template.metadata?.uid ?? ""}/${template.metadata?.generation ?? 0}/${reason}`;
  if (deps.state.warned.has(id)) return;
  deps.state.warned.add(id);
  const { name = "", namespace = "", uid } = template.metadata ?? {};
  deps.log.warn({ template: `${namespace}/${name}`, reason }, message);
  await recordEvent(deps.clients, deps.log, { kind: "AgentTemplate", namespace, name, uid }, { type: "Warning", reason, message });
}
