// A session taking a warm pod: the I/O half of warm pools on the session's side. Safe under
// concurrency because every take is a patch with a resourceVersion precondition: of two
// sessions (or a session and a pool shrinking) racing for one pod, exactly one write succeeds.
import { PatchStrategy, type KubernetesObject, type V1OwnerReference, type V1Pod, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_VERSION, type AgentSession } from "../crds/agentsession.js";
import { FIELD_MANAGER, names, SESSION_LABEL, WARM_POOL_LABEL } from "./names.js";
import { readOptional, statusOf, type Clients } from "./kube.js";
import { inPool, type PoolTemplate } from "./warm-pool.js";

const controllerOf = (o: KubernetesObject | undefined): V1OwnerReference | undefined => o?.metadata?.ownerReferences?.find((r) => r.controller);

function sessionRef(session: AgentSession): V1OwnerReference {
  return { apiVersion: API_VERSION, kind: "AgentSession", name: session.metadata.name, uid: session.metadata.uid ?? "", controller: true, blockOwnerDeletion: true };
}

/** The merge patch that moves an object from the pool to the session; `resourceVersion` makes it conditional. */
function takeOver(obj: KubernetesObject, session: AgentSession): KubernetesObject {
  return {
    apiVersion: obj.apiVersion ?? "v1",
    kind: obj.kind ?? "",
    metadata: {
      name: obj.metadata?.name ?? "",
      namespace: obj.metadata?.namespace ?? "",
      resourceVersion: obj.metadata?.resourceVersion ?? "",
      // null removes the label in a JSON merge patch.
      labels: { [WARM_POOL_LABEL]: null as unknown as string, [SESSION_LABEL]: session.metadata.name },
      ownerReferences: [sessionRef(session)],
    },
  };
}

const patch = <T extends KubernetesObject>(c: Clients, body: T): Promise<T> => c.objects.patch(body, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);

/** In-process claims, so that sessions reconciled at the same time try different warm pods. */
export interface Claims {
  /** Claims `namespace/pod`; false when another adoption in this process holds it. */
  claim(id: string): boolean;
  release(id: string): void;
}

/**
 * Tries the candidates in order; returns the pod this session now controls (the objects it
 * mounts follow with adoptChildren), or undefined when
 * every candidate tried was taken (or deleted) first. Each take is conditional on the pod's
 * resourceVersion: a conflict means the pod changed since it was read; it is read again and
 * retried only while it is still a member of the pool, so it is never taken from another
 * session. `claims` keeps concurrent adoptions in this process off each other's candidates; the
 * precondition is what makes it safe across processes.
 */
export async function adoptWarmPod(input: { clients: Clients; log: Logger; session: AgentSession; pool: Pick<PoolTemplate, "name" | "uid">; candidates: readonly V1Pod[]; claims: Claims; maxTries?: number }): Promise<V1Pod | undefined> {
  const { clients: c, session, claims } = input;
  let tries = 0;
  for (const candidate of input.candidates) {
    if (tries >= (input.maxTries ?? 5)) break;
    const id = `${candidate.metadata?.namespace ?? ""}/${candidate.metadata?.name ?? ""}`;
    if (!claims.claim(id)) continue;
    tries++;
    let pod: V1Pod | undefined;
    try {
      pod = await take(c, session, input.pool, candidate);
    } finally {
      // A pod taken stays claimed: it is the session's now (see WarmPoolHooks.adopted).
      if (!pod) claims.release(id);
    }
    if (!pod) continue;
    input.log.info({ session: `${session.metadata.namespace}/${session.metadata.name}`, pod: pod.metadata?.name, template: input.pool.name }, "adopted a warm pod");
    return pod;
  }
  return undefined;
}

async function take(c: Clients, session: AgentSession, pool: Pick<PoolTemplate, "name" | "uid">, candidate: V1Pod): Promise<V1Pod | undefined> {
  let current: V1Pod | undefined = candidate;
  for (let attempt = 0; attempt < 3 && current; attempt++) {
    try {
      return await patch(c, { ...takeOver(current, session), apiVersion: "v1", kind: "Pod" } as V1Pod);
    } catch (e) {
      const status = statusOf(e);
      if (status === 404) return undefined;
      if (status !== 409) throw new Error(`cannot adopt warm pod ${candidate.metadata?.namespace}/${candidate.metadata?.name}`, { cause: e });
    }
    // Changed since read (often just its status): still in the pool, it may be taken at its new version.
    const fresh: V1Pod | undefined = await readOptional<V1Pod>(c, { apiVersion: "v1", kind: "Pod", metadata: { name: candidate.metadata?.name ?? "", namespace: candidate.metadata?.namespace ?? "" } });
    current = fresh && inPool(fresh, pool) ? fresh : undefined;
  }
  return undefined;
}

/**
 * Moves the objects a warm pod mounts (stub Secret, sidecar configuration, NetworkPolicy) from
 * the pod to the session that adopted it. Idempotent: run again after a crash between the pod's
 * adoption and this, it finishes the job. Only objects whose controller is this very pod are
 * touched; anything else with those names is left alone (the session's apply then reports it).
 */
export async function adoptChildren(c: Clients, session: AgentSession, pod: V1Pod): Promise<{ stubs?: Record<string, string> }> {
  const n = names(pod.metadata?.name ?? "");
  const ns = pod.metadata?.namespace ?? "";
  const children: KubernetesObject[] = [
    { apiVersion: "v1", kind: "Secret", metadata: { name: n.stubs, namespace: ns } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: n.sidecarConfig, namespace: ns } },
    { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: n.networkPolicy, namespace: ns } },
  ];
  const moved = await Promise.all(
    children.map(async (ref): Promise<KubernetesObject | undefined> => {
      // A lost race on a child can only be with another write of this same adoption (the pod is
      // already ours), so read and try again a few times.
      for (let attempt = 0; attempt < 3; attempt++) {
        const live = await readOptional(c, ref);
        const owner = controllerOf(live)?.uid;
        if (owner === session.metadata.uid) return live;
        if (!live || owner !== pod.metadata?.uid) return undefined;
        try {
          return await patch(c, takeOver(live, session));
        } catch (e) {
          if (statusOf(e) !== 409) throw new Error(`cannot move ${ref.kind} ${ns}/${ref.metadata?.name} to session ${session.metadata.name}`, { cause: e });
        }
      }
      return undefined;
    }),
  );
  // The stubs (never real values) the pod's agent holds, so the session need not read them again.
  const data = (moved[0] as V1Secret | undefined)?.data;
  return data ? { stubs: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) } : {};
}
