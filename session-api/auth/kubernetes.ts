// The real authenticator and authorizer: TokenReview and SubjectAccessReview against the API server.
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Authenticator, Authorizer } from "./identity.js";

export function tokenReviewAuthenticator(kc: KubeConfig, audiences?: string[]): Authenticator {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async authenticate(token) {
      let review;
      try {
        review = await api.createTokenReview({
          body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, ...(audiences ? { audiences } : {}) } },
        });
      } catch (err) {
        throw new Error("TokenReview failed; is the API server reachable and may the session API create tokenreviews?", { cause: err });
      }
      const user = review.status?.user;
      if (!review.status?.authenticated || !user?.username) return undefined;
      return { username: user.username, groups: user.groups ?? [], ...(user.uid ? { uid: user.uid } : {}), via: "kubernetes" };
    },
  };
}

export function subjectAccessReviewAuthorizer(kc: KubeConfig): Authorizer {
  const api = kc.makeApiClient(AuthorizationV1Api);
  return {
    async allowed(identity, attributes) {
      try {
        const review = await api.createSubjectAccessReview({
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: {
              user: identity.username,
              groups: identity.groups,
              ...(identity.uid ? { uid: identity.uid } : {}),
              resourceAttributes: { group: "agentbox.dev", ...attributes },
            },
          },
        });
        return review.status?.allowed === true && review.status.denied !== true;
      } catch (err) {
        throw new Error("SubjectAccessReview failed; may the session API create subjectaccessreviews?", { cause: err });
      }
    },
  };
}
