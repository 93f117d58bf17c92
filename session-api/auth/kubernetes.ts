// The real authenticator and authorizer: TokenReview and SubjectAccessReview against the API server.
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Authenticator, Authorizer, Identity } from "./identity.js";
import { DEFAULT_CACHE_POLICY, ReviewCache, digest, type CachePolicy } from "./review-cache.js";

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

/**
 * TokenReview behind a short cache keyed by the token's SHA-256 digest (see review-cache.ts): a
 * burst of terminals opened with one token costs one review, and a revoked token stops working
 * here within the policy's allow TTL.
 */
export function cachedAuthenticator(inner: Authenticator, policy: CachePolicy = DEFAULT_CACHE_POLICY): Authenticator {
  const cache = new ReviewCache<Identity | undefined>(policy, (identity) => identity !== undefined);
  return { authenticate: (token) => cache.answer(digest(["token", token]), () => inner.authenticate(token)) };
}

/**
 * SubjectAccessReview behind a short cache. The key is the whole review request (user, uid,
 * groups, and every resource attribute), so an answer is only served for the exact question it
 * answered; the API server's answer depends on nothing else.
 */
export function cachedAuthorizer(inner: Authorizer, policy: CachePolicy = DEFAULT_CACHE_POLICY): Authorizer {
  const cache = new ReviewCache<boolean>(policy, (allowed) => allowed);
  return {
    allowed: (identity, attributes) => {
      const key = digest([
        "sar",
        identity.username,
        identity.uid ?? null,
        identity.groups,
        attributes.verb,
        attributes.resource,
        attributes.subresource ?? null,
        attributes.namespace,
        attributes.name ?? null,
      ]);
      return cache.answer(key, () => inner.allowed(identity, attributes));
    },
  };
}

/** The Kubernetes authenticator as the server runs it: TokenReview, cached. */
export function clusterAuthenticator(kc: KubeConfig, audiences?: string[]): Authenticator {
  return cachedAuthenticator(tokenReviewAuthenticator(kc, audiences));
}
