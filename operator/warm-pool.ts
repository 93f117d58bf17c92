// Warm pools (AgentTemplate.spec.warmPool): pods started ahead of demand from a template alone,
// adopted by the sessions that would have built exactly that pod. The decisions are pure
// functions here; the I/O is in warm-pool-reconcile.ts and reconcile.ts (adoption).
import { createHash } from "node:crypto";
import type { KubernetesObject, V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, type AgentSession, type AgentSessionSpec } from "../crds/agentsession.js";
import type { AgentTemplateSpec } from "../crds/agenttemplate.js";
import { mergeTemplate } from "../crds/merge.js";
import { desired, type DesiredObjects, type PlatformOptions } from "./desired.js";
import { childName, MANAGED_BY, MANAGER, POD_LABEL, POOL_HASH_LABEL, WARM_POOL_LABEL } from "./names.js";
import { makeStub, stubFormat } from "./stubs.js";

/** The template a pool belongs to, as the operator's cache holds it. */
export interface PoolTemplate {
  name: string;
  namespace: string;
  uid: string;
  spec: AgentTemplateSpec;
}

/** Why a template keeps no pool although it asks for one; undefined when it may have one. */
export function poolRefusal(spec: AgentTemplateSpec): string | undefined {
  if ((spec.warmPool?.size ?? 0) === 0) return undefined;
  if (spec.workspace?.storage) return "warmPool is ignored: the template sets workspace.storage, and a workspace claim belongs to one session";
  if (spec.lifecycle?.mode === "Batch") return "warmPool is ignored: the template's lifecycle.mode is Batch, and a warm Batch agent would run its task before any session asked";
  return undefined;
}

/** How many warm pods the template should have. */
export const poolSize = (spec: AgentTemplateSpec): number => (poolRefusal(spec) ? 0 : (spec.warmPool?.size ?? 0));

// What names and stubs are replaced by before hashing: a warm pod and a session's own build
// differ in those and nothing else when they are interchangeable.
const CANONICAL = "warm-pool-canonical";

/**
 * The hash of everything that shapes a pod built for `sessionSpec` with `template`, apart from
 * the object names and the stubs' random bodies: the pod spec, the sidecar's configuration and
 * the NetworkPolicy, built by the same `desired` the sessions use. Fields that do not reach the
 * pod (ttlSeconds, idleTimeoutSeconds, access) do not change it. Undefined when the pair does not
 * build (a template violation, a credential that cannot be wired).
 */
export function poolHash(sessionSpec: AgentSessionSpec, template: AgentTemplateSpec, templateName: string, platform: PlatformOptions): string | undefined {
  const merged = mergeTemplate(sessionSpec, template, templateName);
  if (!merged.ok) return undefined;
  const stubs = Object.fromEntries((merged.spec.credentials ?? []).map((c) => [c.name, makeStub(stubFormat(c), (n) => "x".repeat(n))]));
  const session = canonicalSession(sessionSpec);
  const built = desired({ session, template, stubs, platform, podName: CANONICAL });
  if (!built.ok) return undefined;
  const { pod, sidecarConfig, networkPolicy } = built.objects;
  return createHash("sha256")
    .update(JSON.stringify(pod.spec))
    .update(sidecarConfig.data?.["config.json"] ?? "")
    .update(JSON.stringify(networkPolicy.spec))
    .digest("hex")
    .slice(0, 16);
}

function canonicalSession(spec: AgentSessionSpec): AgentSession {
  return { apiVersion: API_VERSION, kind: "AgentSession", metadata: { name: CANONICAL, namespace: "", uid: "" }, spec };
}

/** The template's own pool hash: what a session that names it and overrides nothing gets. */
export const templatePoolHash = (t: PoolTemplate, platform: PlatformOptions): string | undefined => poolHash({ templateRef: { name: t.name } }, t.spec, t.name, platform);

export type Eligibility = { eligible: true; hash: string } | { eligible: false; why: string };

/**
 * Whether a new session may take a warm pod of its template: it names a template that keeps a
 * pool, and its effective spec shapes the pod exactly as the template alone does. Anything that
 * changes the pod (command, env, image, credentials, egress, resources, mode, workspace) makes it
 * cold; lifecycle timers, which count from the session's own start, do not.
 */
export function eligibility(session: AgentSessionSpec, template: PoolTemplate | undefined, platform: PlatformOptions): Eligibility {
  if (!session.templateRef) return { eligible: false, why: "the session names no template" };
  if (!template) return { eligible: false, why: "the template is not known" };
  if (poolSize(template.spec) === 0) return { eligible: false, why: `template ${template.name} keeps no warm pool` };
  const mine = poolHash(session, template.spec, template.name, platform);
  const pool = templatePoolHash(template, platform);
  if (mine === undefined || pool === undefined) return { eligible: false, why: "the session's pod does not build" };
  if (mine !== pool) return { eligible: false, why: `the session changes what shapes its pod (pod hash ${mine}, pool ${pool})` };
  return { eligible: true, hash: mine };
}

const controllerOf = (o: KubernetesObject): V1OwnerReference | undefined => o.metadata?.ownerReferences?.find((r) => r.controller);
const isReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
const createdMs = (p: V1Pod): number => (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0);

/** Whether `pod` is a live member of `template`'s pool: labelled for it, controlled by it, not on its way out. */
export function inPool(pod: V1Pod, template: Pick<PoolTemplate, "name" | "uid">): boolean {
  const ref = controllerOf(pod);
  return (
    pod.metadata?.labels?.[WARM_POOL_LABEL] === template.name &&
    ref?.kind === "AgentTemplate" &&
    ref.uid === template.uid &&
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase !== "Failed" &&
    pod.status?.phase !== "Succeeded"
  );
}

/**
 * The warm pods a session with pool hash `hash` may adopt, best first: Ready before not yet
 * Ready, then oldest first (most likely to have finished starting).
 */
export function adoptionCandidates(pods: readonly V1Pod[], template: Pick<PoolTemplate, "name" | "uid">, hash: string): V1Pod[] {
  return pods
    .filter((p) => inPool(p, template) && p.metadata?.labels?.[POOL_HASH_LABEL] === hash && p.metadata?.resourceVersion)
    .sort((a, b) => Number(isReady(b)) - Number(isReady(a)) || createdMs(a) - createdMs(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

export interface PoolPlan {
  /** How many warm pods to create. */
  create: number;
  /** Pods to delete: stale (built from an older template or platform) or beyond the size. */
  remove: V1Pod[];
  /** Refilling is held back this long; plan again then. */
  requeueAfterMs?: number;
}

/**
 * How long after a session took a warm pod the pool waits before refilling: sessions come in
 * bursts, and twenty pods starting at once would take the CPU the burst's own sessions need to
 * answer (bench:start). Each further adoption in the burst restarts the wait.
 */
export const REFILL_HOLD_MS = 3_000;

/**
 * What to do to a pool: keep `size` members built from the current `hash`. `pending` counts
 * pods this process created that its cache has not shown yet, so a burst of events does not
 * create the same pod twice. Extras go not-Ready and newest first. Refilling waits
 * REFILL_HOLD_MS after the latest adoption (`msSinceAdoption`).
 */
export function planPool(input: { members: readonly V1Pod[]; size: number; hash: string | undefined; pending: number; msSinceAdoption?: number }): PoolPlan {
  const stale = input.members.filter((p) => input.hash === undefined || p.metadata?.labels?.[POOL_HASH_LABEL] !== input.hash);
  const current = input.members.filter((p) => !stale.includes(p));
  const keep = input.hash === undefined ? 0 : input.size;
  const extras = [...current]
    .sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || createdMs(b) - createdMs(a))
    .slice(0, Math.max(0, current.length - keep));
  const create = Math.max(0, keep - current.length - input.pending);
  const hold = input.msSinceAdoption === undefined ? 0 : REFILL_HOLD_MS - input.msSinceAdoption;
  if (create > 0 && hold > 0) return { create: 0, remove: [...stale, ...extras], requeueAfterMs: hold };
  return { create, remove: [...stale, ...extras] };
}

/** A warm pod's name: `<template>-warm-<random>`, short enough for the `agentbox.dev/pod` label (63). */
export const warmPodName = (template: string, random: string): string => childName(template, `warm-${random}`, 63);

export interface WarmObjects {
  pod: V1Pod;
  /** Owned by the pod (set its uid with `ownedByPod` once it exists), so they go with it. */
  children: KubernetesObject[];
  hash: string;
}

/**
 * A warm pod and the objects it mounts: what `desired` builds for a session that names the
 * template and overrides nothing, named after the pod, owned by the template (the pod) or by the
 * pod (the rest), labelled with the pool and its hash.
 */
export function desiredWarm(input: { template: PoolTemplate; podName: string; stubs: Readonly<Record<string, string>>; platform: PlatformOptions }): WarmObjects | undefined {
  const { template, podName } = input;
  const hash = templatePoolHash(template, input.platform);
  if (hash === undefined) return undefined;
  const session: AgentSession = { apiVersion: API_VERSION, kind: "AgentSession", metadata: { name: podName, namespace: template.namespace, uid: "" }, spec: { templateRef: { name: template.name } } };
  const built = desired({ session, template: template.spec, stubs: input.stubs, platform: input.platform, podName });
  if (!built.ok) return undefined;
  const o: DesiredObjects = built.objects;
  const labels = { [MANAGED_BY]: MANAGER, [WARM_POOL_LABEL]: template.name };
  const pod: V1Pod = {
    ...o.pod,
    metadata: {
      ...o.pod.metadata,
      labels: { ...labels, [POOL_HASH_LABEL]: hash, [POD_LABEL]: podName },
      ownerReferences: [{ apiVersion: API_VERSION, kind: "AgentTemplate", name: template.name, uid: template.uid, controller: true, blockOwnerDeletion: true }],
    },
  };
  const children = [o.stubSecret, o.sidecarConfig, o.networkPolicy].map((c) => ({ ...c, metadata: { ...c.metadata, labels, ownerReferences: [] } }));
  return { pod, children, hash };
}

/** `child` owned (as controller) by the warm pod, so that deleting the pod deletes it. */
export function ownedByPod<T extends KubernetesObject>(child: T, pod: V1Pod): T {
  const ref: V1OwnerReference = { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "", controller: true };
  return { ...child, metadata: { ...child.metadata, ownerReferences: [ref] } };
}
