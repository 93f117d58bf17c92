import { createHash } from "node:crypto";

export const MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGER = "agentbox";
export const SESSION_LABEL = "agentbox.dev/session";
export const FIELD_MANAGER = "agentbox-operator";
export { LAST_ACTIVITY_ANNOTATION as LAST_ACTIVITY } from "../crds/annotations.js";
export const SPEC_HASH = "agentbox.dev/pod-spec-hash";

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
