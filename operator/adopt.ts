// A session taking a warm pod: the I/O half of warm pools on the session's side. Safe under
// concurrency because every take is a patch with a resourceVersion precondition: of two
// sessions (or a session and a pool shrinking) racing for one pod, exactly one write succeeds.
import { PatchStrategy, type KubernetesObject, type V1OwnerReference, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_VERSION, type AgentSession } from "../crds/agentsession.js";
import { FIELD_MANAGER, names, SESSION_LABEL, WARM_POOL_LABEL } from "./names.js";
import { readOptional, statusOf, type Clients } from "./kube.js";

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

/**
 * Tries the candidates in order; returns the pod this session now controls, or undefined when
 * every candidate was taken (or deleted) first. A conflict means someone else changed the pod
 * since the cache saw it: that pod is skipped, never retried.
 */
export async function adoptWarmPod(c: Clients, log: Logger, session: AgentSession, candidates: readonly V1Pod[], maxTries = 3): Promise<V1Pod | undefined> {
  for (const candidate of candidates.slice(0, maxTries)) {
    let pod: V1Pod;
    try {
      pod = await patch(c, { ...takeOver(candidate, session), apiVersion: "v1", kind: "Pod" } as V1Pod);
    } catch (e) {
      const status = statusOf(e);
      if (status === 409 || status === 404) continue;
      throw new Error(`cannot adopt warm pod ${candidate.metadata?.namespace}/${candidate.metadata?.name}`, { cause: e });
    }
    await adoptChildren(c, session, pod);
    log.info({ session: `${session.metadata.namespace}/${session.metadata.name}`, pod: pod.metadata?.name }, "adopted a warm pod");
    return pod;
  }
  return undefined;
}

/**
 * Moves the objects a warm pod mounts (stub Secret, sidecar configuration, NetworkPolicy) from
 * the pod to the session that adopted it. Idempotent: run again after a crash between the pod's
 * adoption and this, it finishes the job. Only objects whose controller is this very pod are
 * touched; anything else with those names is left alone (the session's apply then reports it).
 */
export async function adoptChildren(c: Clients, session: AgentSession, pod: V1Pod): Promise<void> {
  const n = names(pod.metadata?.name ?? "");
  const ns = pod.metadata?.namespace ?? "";
  const children: KubernetesObject[] = [
    { apiVersion: "v1", kind: "Secret", metadata: { name: n.stubs, namespace: ns } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: n.sidecarConfig, namespace: ns } },
    { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: n.networkPolicy, namespace: ns } },
  ];
  await Promise.all(
    children.map(async (ref) => {
      // A lost race on a child can only be with another write of this same adoption (the pod is
      // already ours), so read and try again a few times.
      for (let attempt = 0; attempt < 3; attempt++) {
        const live = await readOptional(c, ref);
        if (!live || controllerOf(live)?.uid !== pod.metadata?.uid) return;
        try {
          await patch(c, takeOver(live, session));
          return;
        } catch (e) {
          if (statusOf(e) !== 409) throw new Error(`cannot move ${ref.kind} ${ns}/${ref.metadata?.name} to session ${session.metadata.name}`, { cause: e });
        }
      }
    }),
  );
}
