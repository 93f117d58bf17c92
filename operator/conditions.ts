import type { Condition } from "../crds/agentsession.js";
import { REASONS, type Reason } from "../crds/conditions.js";

/**
 * Sets the condition a reason belongs to, keeping lastTransitionTime when its status did not
 * change, so that recomputing the same state yields the same status and no write.
 */
export function setCondition(conditions: readonly Condition[], reason: Reason, message: string, now: string, generation: number | undefined): Condition[] {
  const doc = REASONS[reason];
  const previous = conditions.find((c) => c.type === doc.type);
  const next: Condition = {
    type: doc.type,
    status: doc.status,
    reason,
    message,
    lastTransitionTime: previous && previous.status === doc.status ? previous.lastTransitionTime : now,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  // Replace in place: a stable order keeps an unchanged status byte-for-byte equal.
  return previous ? conditions.map((c) => (c === previous ? next : c)) : [...conditions, next];
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
