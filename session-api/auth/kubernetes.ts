// The real authenticator and authorizer: TokenReview and SubjectAccessReview against the API server.
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { TokenRefused, type Authenticator, type Authorizer, type Identity } from "./identity.js";
import { DEFAULT_TOKEN_AUDIENCE, audienceHint } from "./token-audience.js";
import { DEFAULT_CACHE_POLICY, ReviewCache, digest, type CachePolicy } from "./review-cache.js";

/**
 * TokenReview for our own audience only. Without one the API server accepts any token it issued
 * (every pod's service-account token), so a pod could sign in here as its service account. The
 * answer must name our audience: an authenticator that does not support audiences answers
 * without them, and its tokens are refused.
 */
export function tokenReviewAuthenticator(kc: KubeConfig, audience: string): Authenticator {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async authenticate(token) {
      let review;
      try {
        review = await api.createTokenReview({
          body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [audience] } },
        });
      } catch (err) {
        throw new Error("TokenReview failed; is the API server reachable and may the session API create tokenreviews?", { cause: err });
      }
      const status = review.status;
      const user = status?.user;
      if (!status?.authenticated || !user?.username) {
        // The API server says why in status.error; only whether it is about the audience is used,
        // to tell the person how to get the right token.
        if (/audience/i.test(status?.error ?? "")) throw new TokenRefused(audienceHint(audience));
        return undefined;
      }
      if (!status.audiences?.includes(audience)) throw new TokenRefused(audienceHint(audience));
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
 * here within the policy's allow TTL. A refusal with a reason (TokenRefused) is remembered as a
 * refusal, so a burst with a wrong-audience token does not cost a review per connection either.
 */
export function cachedAuthenticator(inner: Authenticator, policy: CachePolicy = DEFAULT_CACHE_POLICY): Authenticator {
  type Answer = Identity | TokenRefused | undefined;
  const cache = new ReviewCache<Answer>(policy, (answer) => answer !== undefined && !(answer instanceof TokenRefused));
  const ask = (token: string): Promise<Answer> =>
    inner.authenticate(token).catch((err: unknown) => (err instanceof TokenRefused ? err : Promise.reject(err)));
  return {
    async authenticate(token) {
      const answer = await cache.answer(digest(["token", token]), () => ask(token));
      if (answer instanceof TokenRefused) throw answer;
      return answer;
    },
  };
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

/** The Kubernetes authenticator as the server runs it: TokenReview for `audience`, cached. */
export function clusterAuthenticator(kc: KubeConfig, audience: string = DEFAULT_TOKEN_AUDIENCE): Authenticator {
  return cachedAuthenticator(tokenReviewAuthenticator(kc, audience));
}
