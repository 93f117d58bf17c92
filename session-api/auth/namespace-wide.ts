// One person opening twenty terminals in a namespace would cost twenty SubjectAccessReviews, one
// per session name, sent while the API server is busy starting those very sessions. RBAC rules
// are additive, and a rule without resourceNames covers every name, so a namespace-wide "yes"
// (the same question with no name) answers them all; a namespace-wide "no" may still hide a
// grant by resourceNames, so the exact question is then asked as before.
import type { Authorizer, ResourceAttributes } from "./identity.js";

/**
 * The questions to ask, in order, for one authorization; the first that is allowed decides.
 * A question that names an object is preceded by the same question without the name.
 */
export function authorizationQuestions(attributes: ResourceAttributes): ResourceAttributes[] {
  if (attributes.name === undefined) return [attributes];
  const namespaceWide = { ...attributes };
  delete namespaceWide.name;
  return [namespaceWide, attributes];
}

/**
 * Asks `inner` the namespace-wide question before the named one. Put it in front of the cached
 * authorizer: the namespace-wide answer is then one cache entry (allow/deny TTLs as any review)
 * shared by every session in the namespace.
 */
export function namespaceWideFirst(inner: Authorizer): Authorizer {
  return {
    async allowed(identity, attributes) {
      for (const question of authorizationQuestions(attributes)) {
        if (await inner.allowed(identity, question)) return true;
      }
      return false;
    },
  };
}
