import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject, V1ContainerStatus, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { AgentSession, AgentSessionStatus, GROUP, VERSION } from "../crds/agentsession.js";
import { AgentTemplateSpec } from "../crds/agenttemplate.js";
import { mergeTemplate, type EffectiveSpec } from "../crds/merge.js";
import { decide, type Decision, type Observed } from "./decide.js";
import { recordEvent, type EventNote } from "./events.js";
import { desired, type DesiredObjects, type PlatformOptions } from "./desired.js";
import { apply, createIfAbsent, mergePatch, metadataOnly, readOptional, statusOf, type Clients } from "./kube.js";
import { adoptChildren, adoptWarmPod, type Claims } from "./adopt.js";
import { names, SESSION_LABEL, SPEC_HASH } from "./names.js";
import { ownership } from "./ownership.js";
import { credentialsFromLog, shouldReadSidecarLog, SIDECAR_LOG_INTERVAL_MS, type UnresolvedCredential } from "./sidecar-log.js";
import { ensureStubs } from "./stubs.js";
import { missingKeys, missingSecrets, secretRefs, unreadableMessage } from "./secret-refs.js";
import { checkCredentialSecrets } from "./credential-rules.js";
import { lookUpCredentialSecrets } from "./secret-lookup.js";
import { adoptionCandidates, eligibility, poolSize, type PoolTemplate } from "./warm-pool.js";

/** An error retrying cannot fix (the object itself is wrong); it is reported, not requeued. */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
}

export interface Caches {
  session(namespace: string, name: string): KubernetesObject | undefined;
  template(namespace: string, name: string): KubernetesObject | undefined;
  pod(namespace: string, name: string): V1Pod | undefined;
  /** Every pod the operator watches in a namespace (warm pools and adopted pods are found here). */
  podsIn(namespace: string): readonly V1Pod[];
}

/** What the controller does when a session takes a warm pod or, naming a pooled template, gets a cold one. */
export interface WarmPoolHooks extends Claims {
  adopted(namespace: string, template: string, pod: string): void;
  cold(namespace: string, template: string): void;
}

export interface ReconcilerDeps {
  clients: Clients;
  caches: Caches;
  platform: PlatformOptions;
  log: Logger;
  now?: () => Date;
  /** What this process last applied per session UID; lets unchanged sessions skip the API. */
  applied?: Map<string, AppliedRecord>;
  /** How long an applied record is trusted before objects are applied again (drift repair). */
  reapplyAfterMs?: number;
  /** The last look at each session's not-yet-started sidecar, by session UID; bounds how often it is read. */
  diagnoses?: Map<string, Diagnosis>;
  pool?: WarmPoolHooks;
}

export interface Diagnosis {
  at: number;
  sidecarUnresolved?: UnresolvedCredential[];
  secretsMissing?: string;
  upstreamCaMissing?: string;
}

export interface AppliedRecord {
  generation: number | undefined;
  hash: string;
  at: number;
  /** The stubs written to the stub Secret then, so later reconciles need not read it back. */
  stubs: Record<string, string>;
  /** The warm pod the session adopted, remembered until the cache shows it as the session's. */
  podName?: string;
}

/**
 * Whether the session's objects must be applied again. They are after a spec change, for a
 * missing pod, after a restart of the operator (nothing recorded) and at least every
 * `reapplyAfterMs`, which repairs objects someone edited or deleted; otherwise the session's own
 * status writes would make every reconcile re-apply five unchanged objects.
 */
export function needsApply(record: AppliedRecord | undefined, current: { generation: number | undefined; hash: string; podExists: boolean; now: number; reapplyAfterMs: number }): boolean {
  if (!record || !current.podExists) return true;
  return record.generation !== current.generation || record.hash !== current.hash || current.now - record.at >= current.reapplyAfterMs;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
  phase?: string;
}

/**
 * Brings one session's world in line with its spec. Level-based: it reads the latest state
 * (caches for sessions, templates and pods; the API for the stub Secret and ownership checks),
 * decides with pure functions, and writes only what differs: objects via server-side apply,
 * status via /status when it changed.
 */
export async function reconcile(deps: ReconcilerDeps, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split("/") as [string, string];
  const raw = deps.caches.session(namespace, name);
  if (!raw) return {}; // deleted: owner references let the garbage collector remove the rest
  const parsed = AgentSession.safeParse(raw);
  if (!parsed.success) throw new PermanentError(`AgentSession ${key} does not match the schema: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const session = parsed.data;
  if (session.metadata.deletionTimestamp) return {};
  const now = deps.now?.() ?? new Date();
  const uid = session.metadata.uid ?? "";
  const reapplyAfterMs = deps.reapplyAfterMs ?? 300_000;
  const record = deps.applied?.get(uid);
  // Stubs this process wrote recently are trusted without reading the Secret back; after
  // reapplyAfterMs the Secret is read again, which repairs a deleted or edited one.
  const knownStubs = record && now.getTime() - record.at < reapplyAfterMs ? record.stubs : undefined;
  // The credential Secrets' rules are read again whenever the objects may be applied again (no
  // fresh record, a new generation) and whenever there is no pod; in between, a pod built after
  // a passing check keeps running until the next periodic re-apply looks again.
  const recheckSecrets = !knownStubs || record?.generation !== session.metadata.generation;
  const observed = await observe(deps, session, now, knownStubs, record?.podName, recheckSecrets);
  let obs = observed.observed;
  let decision = decide(obs);
  const hash = observed.observed.desiredHash ?? "";
  const current = { generation: session.metadata.generation, hash, podExists: obs.pod !== undefined, now: now.getTime(), reapplyAfterMs };
  const adopted = observed.warm?.adopted;
  const podName = obs.pod?.metadata?.name !== names(name).pod ? obs.pod?.metadata?.name : undefined;
  let afterAdoption: (() => Promise<void>) | undefined;
  if (adopted && observed.warm) {
    const warm = observed.warm;
    const adoptedName = adopted.metadata?.name ?? "";
    // Remember the pod (the cache may not show it as ours yet); `at: 0` makes the next reconcile
    // read the stubs back and apply the objects, unless moving them below records what they are.
    deps.applied?.set(uid, { generation: current.generation, hash: "", at: 0, stubs: {}, podName: adoptedName });
    deps.pool?.adopted(namespace, warm.template, adoptedName);
    // Only after the status write, which says Running at once: with twenty sessions adopting
    // together, these seven calls each would otherwise queue at the API server ahead of the
    // statuses people wait for. A crash in between is repaired by the next reconcile (the
    // record above is stale, so its observe moves the children). sessionEvent never throws.
    afterAdoption = () =>
      Promise.all([
        sessionEvent(deps, session, { type: "Normal", reason: "WarmPodAdopted", message: `took warm pod ${adoptedName} from the pool of AgentTemplate ${warm.template}` }),
        adoptChildren(deps.clients, session, adopted).then(({ stubs }) => {
          // The objects were built by the same builder from a spec that shapes the same pod: with
          // their stubs known, there is nothing to apply until the next periodic re-apply.
          const built = stubs && warm.templateSpec ? desired({ session, template: warm.templateSpec, stubs, platform: deps.platform, podName: adoptedName }) : undefined;
          if (built?.ok && stubs) deps.applied?.set(uid, { generation: current.generation, hash: built.objects.pod.metadata?.annotations?.[SPEC_HASH] ?? "", at: current.now, stubs, podName: adoptedName });
        }),
      ]).then(() => undefined);
  } else if (decision.apply && observed.objects && needsApply(record, current)) {
    const applied = await applyObjects(deps, session, observed.objects, obs.pod, !record);
    if (applied.conflict) {
      obs = { ...obs, conflict: applied.conflict };
      decision = decide(obs);
    } else {
      deps.applied?.set(uid, { generation: current.generation, hash, at: current.now, stubs: observed.stubs ?? {}, ...(podName ? { podName } : {}) });
    }
    if (applied.createdPod) {
      deps.log.debug({ session: key }, "pod created");
      if (observed.warm?.pooled) deps.pool?.cold(namespace, observed.warm.template);
      // Decide again with the pod just created, so the first status already says Starting
      // instead of a PodNotCreated that the pod's own watch event would overwrite at once.
      obs = { ...obs, pod: applied.createdPod };
      decision = decide(obs);
    }
  }
  const pod = obs.pod;
  const waitingForSidecar = pod !== undefined && !sidecarStarted(pod) && (decision.status.phase === "Starting" || decision.status.phase === "Pending");
  if (waitingForSidecar) {
    // A pod stuck before its sidecar starts sends no further events: look again in a while.
    const diagnosis = await diagnoseSidecar(deps, session, obs.spec, pod, now.getTime());
    if (diagnosis.sidecarUnresolved || diagnosis.upstreamCaMissing || diagnosis.secretsMissing) decision = decide({ ...obs, ...diagnosis });
    decision = { ...decision, requeueAfterMs: Math.min(decision.requeueAfterMs ?? Infinity, SIDECAR_LOG_INTERVAL_MS) };
  } else {
    deps.diagnoses?.delete(uid);
  }
  await act(deps, session, decision, pod);
  await afterAdoption?.();
  return { ...(decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {}), ...(decision.status.phase ? { phase: decision.status.phase } : {}) };
}

const sidecarStatus = (pod: V1Pod): V1ContainerStatus | undefined => pod.status?.initContainerStatuses?.find((c) => c.name === "sidecar");
const sidecarStarted = (pod: V1Pod): boolean => sidecarStatus(pod)?.started === true;
const timeMs = (t: Date | string | undefined): number | undefined => (t === undefined ? undefined : new Date(t).getTime());

/**
 * Why a pod's sidecar has not started, from what the sidecar logged about its credentials and
 * whether the upstream-CA ConfigMap and the credential Secrets the pod mounts exist. Best
 * effort and rate-limited (see shouldReadSidecarLog): between reads the last diagnosis stands;
 * a failed read says nothing.
 */
async function diagnoseSidecar(deps: ReconcilerDeps, session: AgentSession, spec: EffectiveSpec | undefined, pod: V1Pod, nowMs: number): Promise<Omit<Diagnosis, "at">> {
  const uid = session.metadata.uid ?? "";
  const last = deps.diagnoses?.get(uid);
  if (!shouldReadSidecarLog({ sidecarStarted: false, podCreatedMs: timeMs(pod.metadata?.creationTimestamp), lastReadMs: last?.at, nowMs })) {
    const { at: _at, ...kept } = last ?? { at: 0 };
    return kept;
  }
  const namespace = pod.metadata?.namespace ?? "default";
  const [unresolved, caMissing, secretsMissing] = await Promise.all([sidecarUnresolved(deps, namespace, pod), upstreamCaMissing(deps, namespace), missingSecretsOf(deps, namespace, spec, pod)]);
  const diagnosis: Diagnosis = { at: nowMs, ...(unresolved ? { sidecarUnresolved: unresolved } : {}), ...(caMissing ? { upstreamCaMissing: caMissing } : {}), ...(secretsMissing ? { secretsMissing } : {}) };
  deps.diagnoses?.set(uid, diagnosis);
  return diagnosis;
}

async function sidecarUnresolved(deps: ReconcilerDeps, namespace: string, pod: V1Pod): Promise<UnresolvedCredential[] | undefined> {
  const state = sidecarStatus(pod)?.state;
  // A container that never ran has no log to read (the API answers 400).
  if (!state?.running && !state?.terminated) return undefined;
  try {
    const text = await deps.clients.core.readNamespacedPodLog({ name: pod.metadata?.name ?? "", namespace, container: "sidecar", tailLines: 50, limitBytes: 64 * 1024 });
    const said = credentialsFromLog(String(text));
    return said.state === "unresolved" ? said.unresolved : undefined;
  } catch (e) {
    deps.log.debug({ err: e, pod: `${namespace}/${pod.metadata?.name ?? ""}` }, "could not read the sidecar's log");
    return undefined;
  }
}

/**
 * Whether the Secrets the spec's credentials mount exist (a metadata-only read: the operator
 * never receives a real value) and what the kubelet said about mounting them. A failed look-up
 * (other than 404) says nothing.
 */
async function missingSecretsOf(deps: ReconcilerDeps, namespace: string, spec: EffectiveSpec | undefined, pod: V1Pod): Promise<string | undefined> {
  const refs = spec ? secretRefs(spec) : [];
  if (refs.length === 0) return undefined;
  const exists = new Map<string, boolean>();
  const lookups = [...new Set(refs.map((r) => r.name))].map(async (name) => {
    try {
      await deps.clients.core.readNamespacedSecret({ name, namespace }, metadataOnly);
      exists.set(name, true);
    } catch (e) {
      if (statusOf(e) === 404) exists.set(name, false);
    }
  });
  const events = deps.clients.core
    .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod.metadata?.name ?? ""},reason=FailedMount`, limit: 20 })
    .then((list) => list.items.map((e) => e.message ?? ""))
    .catch((e: unknown) => {
      deps.log.debug({ err: e, pod: `${namespace}/${pod.metadata?.name ?? ""}` }, "could not list the pod's FailedMount events");
      return [] as string[];
    });
  const [messages] = await Promise.all([events, ...lookups]);
  return missingSecrets(refs, exists, missingKeys(refs, messages), namespace);
}

async function upstreamCaMissing(deps: ReconcilerDeps, namespace: string): Promise<string | undefined> {
  const name = deps.platform.upstreamCaConfigMap;
  if (!name) return undefined;
  try {
    await deps.clients.core.readNamespacedConfigMap({ name, namespace });
    return undefined;
  } catch (e) {
    if (statusOf(e) !== 404) return undefined;
    return `ConfigMap ${name} (key ca.crt) not found in namespace ${namespace}: the operator mounts it into every session's sidecar (chart value sessions.upstreamCaConfigMap, env AGENTBOX_UPSTREAM_CA_CONFIGMAP); create it there or unset the value`;
  }
}

interface Observation {
  observed: Observed;
  objects?: DesiredObjects;
  stubs?: Record<string, string>;
  /** Set when the session names a template: whether it keeps a pool, and the warm pod adopted just now. */
  warm?: { template: string; templateSpec?: AgentTemplateSpec; pooled: boolean; adopted?: V1Pod };
}

async function observe(deps: ReconcilerDeps, session: AgentSession, now: Date, knownStubs: Record<string, string> | undefined, adoptedName: string | undefined, recheckSecrets: boolean): Promise<Observation> {
  const ns = session.metadata.namespace ?? "default";
  const ref = session.spec.templateRef?.name;
  let template: AgentTemplateSpec | undefined;
  let templateUid = "";
  if (ref) {
    const rawTemplate = deps.caches.template(ns, ref);
    if (!rawTemplate) return { observed: { session, template: { state: "missing", name: ref }, now } };
    const t = AgentTemplateSpec.safeParse((rawTemplate as { spec?: unknown }).spec);
    if (!t.success) return { observed: { session, template: { state: "violation", violations: [`AgentTemplate ${ref} is invalid: ${t.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`] }, now } };
    template = t.data;
    templateUid = rawTemplate.metadata?.uid ?? "";
  }
  const merged = mergeTemplate(session.spec, template, ref);
  if (!merged.ok) return { observed: { session, template: { state: "violation", violations: merged.violations }, now } };
  const n = names(session.metadata.name);
  const cachedPod = deps.caches.pod(ns, n.pod);
  const owner = { name: session.metadata.name, uid: session.metadata.uid ?? "" };
  let pod = ownership(cachedPod, owner) === "owned" ? cachedPod : await adoptedPod(deps, session, adoptedName);
  const base: Observed = { session, template: { state: ref ? "found" : "none" }, spec: merged.spec, ...(pod ? { pod } : {}), now };
  // A finished or expired session needs no objects (and no stubs) any more.
  if (["Succeeded", "Failed", "Expired"].includes(session.status?.phase ?? "")) return { observed: base };
  // Before any pod (cold or warm) gets a credential: its Secret's own allowed-hosts rule.
  const refusal = recheckSecrets || !pod ? await secretRuleRefusal(deps, ns, merged.spec, pod !== undefined) : undefined;
  if (refusal) return { observed: { ...base, refusal } };
  let warm: Observation["warm"];
  if (ref && template) {
    const pool: PoolTemplate = { name: ref, namespace: ns, uid: templateUid, spec: template };
    warm = { template: ref, templateSpec: template, pooled: poolSize(template) > 0 };
    const fit = !pod && warm.pooled ? eligibility(session.spec, pool, deps.platform) : undefined;
    if (fit?.eligible) {
      const candidates = adoptionCandidates(deps.caches.podsIn(ns), pool, fit.hash);
      const taken = deps.pool ? await adoptWarmPod({ clients: deps.clients, log: deps.log, session, pool, candidates, claims: deps.pool }) : undefined;
      if (taken) {
        pod = taken;
        warm.adopted = taken;
      }
    } else if (fit) {
      deps.log.debug({ session: `${ns}/${session.metadata.name}`, why: fit.why }, "no warm pod for this session");
    }
  }
  const withPod: Observed = { ...base, ...(pod ? { pod } : {}) };
  // Just adopted: the pod is current by construction (same pool hash) and already running, so
  // the status is written first; its objects move to the session right after (see reconcile),
  // and the next reconcile reads and applies them as for any pod.
  if (warm?.adopted) return { observed: withPod, warm };
  // A pod adopted before this process last read its objects: finish moving them to the
  // session if a crash interrupted the adoption (a no-op otherwise).
  const podName = pod?.metadata?.name !== n.pod ? pod?.metadata?.name : undefined;
  if (pod && podName && !knownStubs) await adoptChildren(deps.clients, session, pod);
  const credentials = merged.spec.credentials ?? [];
  // Without credentials there are no stubs to keep stable, so nothing to read.
  const existing = knownStubs ?? (credentials.length > 0 ? await readStubs(deps, ns, names(podName ?? session.metadata.name).stubs, owner) : {});
  const stubs = ensureStubs(existing, credentials);
  const built = desired({ session, template, stubs, platform: deps.platform, ...(podName ? { podName } : {}) });
  if (!built.ok) return { observed: refusedBuild(withPod, built) };
  return { observed: { ...withPod, desiredHash: built.objects.pod.metadata?.annotations?.[SPEC_HASH] ?? "" }, objects: built.objects, stubs, ...(warm ? { warm } : {}) };
}

/** What a refused build means for the status (see desired()). */
function refusedBuild(o: Observed, built: Extract<ReturnType<typeof desired>, { ok: false }>): Observed {
  const message = built.violations.join("; ");
  switch (built.kind) {
    case "template":
      return { ...o, template: { state: "violation", violations: built.violations } };
    case "credentials":
      return { ...o, credentialsProblem: message };
    case "requireTemplate":
      return { ...o, refusal: { reason: "TemplateRequired", message } };
    case "egress":
      return { ...o, refusal: { reason: "EgressNotAllowed", message } };
  }
}

/**
 * Why the credential Secrets' own rules refuse the spec, if they do: a credential whose hosts
 * its Secret's agentbox.dev/allowed-hosts does not cover, or (only while there is no pod) a
 * Secret that does not exist, whose rule cannot be checked yet.
 */
async function secretRuleRefusal(deps: ReconcilerDeps, namespace: string, spec: EffectiveSpec, podExists: boolean): Promise<Observed["refusal"]> {
  if (secretRefs(spec).length === 0) return undefined;
  const verdict = checkCredentialSecrets(spec, await lookUpCredentialSecrets(deps.clients, namespace, spec));
  if (verdict.notAllowed.length > 0) return { reason: "CredentialNotAllowed", message: verdict.notAllowed.join("; ") };
  if (verdict.missing.length > 0 && !podExists) return { reason: "SecretNotFound", message: unreadableMessage(verdict.missing, namespace) };
  return undefined;
}

/**
 * The warm pod this session adopted earlier, if any: from the cache (labelled for the session
 * and controlled by it), else, when this process or the status remembers one the cache does
 * not show yet, from the API. Never a pod of another session.
 */
async function adoptedPod(deps: ReconcilerDeps, session: AgentSession, remembered: string | undefined): Promise<V1Pod | undefined> {
  const ns = session.metadata.namespace ?? "default";
  const owner = { name: session.metadata.name, uid: session.metadata.uid ?? "" };
  const cached = deps.caches.podsIn(ns).find((p) => p.metadata?.labels?.[SESSION_LABEL] === owner.name && ownership(p, owner) === "owned");
  if (cached) return cached;
  const cold = names(owner.name).pod;
  const name = remembered ?? (session.status?.podName !== cold ? session.status?.podName : undefined);
  if (!name) return undefined;
  const live = await readOptional<V1Pod>(deps.clients, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns } });
  return live && ownership(live, owner) === "owned" ? live : undefined;
}

async function readStubs(deps: ReconcilerDeps, namespace: string, name: string, owner: { name: string; uid: string }): Promise<Record<string, string>> {
  const secret = await readOptional<V1Secret>(deps.clients, { apiVersion: "v1", kind: "Secret", metadata: { name, namespace } });
  const stubs: Record<string, string> = {};
  if (secret && ownership(secret, owner) === "owned") {
    for (const [k, v] of Object.entries(secret.data ?? {})) stubs[k] = Buffer.from(v, "base64").toString("utf8");
  }
  return stubs;
}

/**
 * Applies the session's objects; returns a conflict message instead of touching a foreign
 * object, and the pod when this call created it.
 */
async function applyObjects(deps: ReconcilerDeps, session: AgentSession, objects: DesiredObjects, ownedPod: V1Pod | undefined, fresh: boolean): Promise<{ conflict?: string; createdPod?: V1Pod }> {
  const owner = { name: session.metadata.name, uid: session.metadata.uid ?? "" };
  // The pod is immutable once created: apply it only when it does not exist yet.
  const children: KubernetesObject[] = [...(ownedPod ? [] : [objects.pod]), objects.stubSecret, objects.sidecarConfig, objects.networkPolicy, ...(objects.workspace ? [objects.workspace] : [])];
  // In parallel: the pod does not need its Secrets to exist to be created (the kubelet waits
  // for them), so nothing here has to be ordered, and a session's latency is one round of reads
  // and one of writes instead of ten calls in a row.
  let createdPod: V1Pod | undefined;
  const conflicts = await Promise.all(
    children.map(async (obj): Promise<string | undefined> => {
      // A session this process has not applied yet most likely has no objects: try to create
      // each one (one call, and a conflict-free create cannot touch anything foreign) and fall
      // back to read, ownership check and apply when the name is taken. A pod missing from the
      // cache is created the same way: it cannot be applied over anyway.
      if (fresh || obj === objects.pod) {
        const created = await createIfAbsent(obj === objects.pod ? { ...deps.clients, objects: deps.clients.podObjects } : deps.clients, obj);
        if (created) {
          if (obj === objects.pod) createdPod = created as V1Pod;
          return undefined;
        }
      }
      const live = await readOptional(deps.clients, obj);
      const who = ownership(live, owner);
      if (who === "foreign") {
        return `${obj.kind} ${obj.metadata?.namespace}/${obj.metadata?.name} already exists and is not owned by this session; delete it or rename the session`;
      }
      if (obj.kind === "Pod" && who === "owned") return undefined; // created since the cache was read
      await apply(deps.clients, obj);
      return undefined;
    }),
  );
  const conflict = conflicts.find((c) => c !== undefined);
  return { ...(conflict ? { conflict } : {}), ...(createdPod ? { createdPod } : {}) };
}

async function act(deps: ReconcilerDeps, session: AgentSession, d: Decision, pod: V1Pod | undefined): Promise<void> {
  const podUid = pod?.metadata?.uid;
  const podName = pod?.metadata?.name ?? names(session.metadata.name).pod;
  const { namespace = "default", name, uid } = session.metadata;
  // Preconditions make each delete hit exactly the object decided on, not a successor that
  // took its name in the meantime.
  if (d.deletePod && podUid) {
    try {
      await deps.clients.core.deleteNamespacedPod({ name: podName, namespace, body: { preconditions: { uid: podUid }, gracePeriodSeconds: 5 } });
    } catch (e) {
      if (statusOf(e) !== 404 && statusOf(e) !== 409) throw new Error(`cannot delete pod ${namespace}/${podName}`, { cause: e });
    }
  }
  // The event does not depend on the status write: both go out together.
  await Promise.all([writeStatus(deps, session, d.status), d.event ? sessionEvent(deps, session, d.event) : undefined]);
  if (d.deleteSession) {
    deps.log.info({ session: `${namespace}/${name}` }, "deleting finished session: ttlSecondsAfterFinished elapsed");
    try {
      await deps.clients.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: "agentsessions", name, body: { ...(uid ? { preconditions: { uid } } : {}), propagationPolicy: "Background" } });
    } catch (e) {
      if (statusOf(e) !== 404 && statusOf(e) !== 409) throw new Error(`cannot delete AgentSession ${namespace}/${name}`, { cause: e });
    }
  }
}

async function writeStatus(deps: ReconcilerDeps, session: AgentSession, status: AgentSessionStatus): Promise<void> {
  const { namespace = "default", name } = session.metadata;
  const prev = AgentSessionStatus.safeParse(session.status ?? {});
  if (prev.success && isDeepStrictEqual(prev.data, status)) return;
  try {
    await deps.clients.custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: "agentsessions", name, body: { status } }, mergePatch);
  } catch (e) {
    if (statusOf(e) !== 404) throw new Error(`cannot write the status of AgentSession ${namespace}/${name}`, { cause: e });
  }
}

function sessionEvent(deps: ReconcilerDeps, session: AgentSession, ev: EventNote): Promise<void> {
  const { namespace = "default", name, uid } = session.metadata;
  return recordEvent(deps.clients, deps.log, { kind: "AgentSession", namespace, name, uid }, ev, deps.now?.() ?? new Date());
}
