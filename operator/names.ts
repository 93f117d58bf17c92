import { createHash } from "node:crypto";

export const MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGER = "agentbox";
export const SESSION_LABEL = "agentbox.dev/session";
export const FIELD_MANAGER = "agentbox-operator";
export { LAST_ACTIVITY_ANNOTATION as LAST_ACTIVITY } from "../crds/annotations.js";
/** Annotation on every session pod: hash of its exact spec and sidecar config, to tell a stale pod. */
export const SPEC_HASH = "agentbox.dev/pod-spec-hash";
/** Label on a warm pod: the template it waits for. Removed when a session adopts the pod. */
export const WARM_POOL_LABEL = "agentbox.dev/warm-pool";
/**
 * Label on a warm pod: hash of what shapes the pod apart from its names and stubs (see
 * poolHash). Same key as the SPEC_HASH annotation, on purpose: both say which spec made the pod,
 * the label at the level at which pods are interchangeable.
 */
export const POOL_HASH_LABEL = "agentbox.dev/pod-spec-hash";
/** Label on warm (and adopted) pods, naming the pod: what their NetworkPolicy selects. */
export const POD_LABEL = "agentbox.dev/pod";

/** The name of an object a session owns: `<session>-<suffix>`, shortened with a hash to fit `max`. */
export function childName(session: string, suffix: string, max = 253): string {
  const full = suffix ? `${session}-${suffix}` : session;
  if (full.length <= max) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const keep = max - hash.length - 1 - (suffix ? suffix.length + 1 : 0);
  return `${session.slice(0, keep).replace(/[-.]+$/, "")}-${hash}${suffix ? `-${suffix}` : ""}`;
}

export const names = (session: string): { pod: string; stubs: string; sidecarConfig: string; networkPolicy: string; workspace: string } => ({
  pod: childName(session, ""),
  stubs: childName(session, "stubs"),
  sidecarConfig: childName(session, "sidecar"),
  networkPolicy: childName(session, "egress"),
  workspace: childName(session, "workspace"),
});
