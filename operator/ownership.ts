import type { KubernetesObject } from "@kubernetes/client-node";
import { MANAGED_BY, MANAGER, SESSION_LABEL } from "./names.js";

export type Ownership = "absent" | "owned" | "adoptable" | "foreign";

/**
 * Who an object with a name the session needs belongs to. Owned: its controller reference is
 * this session (by UID, so a deleted-and-recreated session of the same name is another owner).
 * Adoptable: no controller, and labels saying agentbox made it for this session. Anything else
 * is foreign and is never touched.
 */
export function ownership(obj: KubernetesObject | undefined, session: { name: string; uid: string }): Ownership {
  if (!obj) return "absent";
  const controller = obj.metadata?.ownerReferences?.find((r) => r.controller);
  if (controller) return controller.uid === session.uid ? "owned" : "foreign";
  const labels = obj.metadata?.labels ?? {};
  return labels[MANAGED_BY] === MANAGER && labels[SESSION_LABEL] === session.name ? "adoptable" : "foreign";
}
