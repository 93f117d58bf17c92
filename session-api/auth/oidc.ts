// OIDC bearer JWTs: signature from the issuer's JWKS, then issuer, audience and expiry; the
// claims become an identity in oidc-claims.ts.
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from "jose";
import { z } from "zod";
import type { Authenticator } from "./identity.js";
import { DEFAULT_OIDC_PREFIX, identityFromClaims } from "./oidc-claims.js";

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** Defaults to the issuer's discovery document's jwks_uri. */
  jwksUrl?: string;
  usernameClaim?: string;
  groupsClaim?: string;
  /** Put before the user name (default "oidc:"); "" for none. */
  usernamePrefix?: string;
  /** Put before every group (default "oidc:"); "" for none. */
  groupsPrefix?: string;
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockToleranceSec?: number;
}

const Discovery = z.object({ issuer: z.string(), jwks_uri: z.url() });

async function discoverJwks(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`cannot fetch OIDC discovery document ${url}`, { cause: err });
  }
  if (!response.ok) throw new Error(`OIDC discovery ${url} answered HTTP ${response.status}`);
  const parsed = Discovery.safeParse(await response.json());
  if (!parsed.success) throw new Error(`OIDC discovery ${url} has no valid jwks_uri`);
  if (parsed.data.issuer !== issuer) throw new Error(`OIDC discovery ${url} names issuer ${parsed.data.issuer}, not ${issuer}`);
  return parsed.data.jwks_uri;
}

/** Only tokens that claim to come from our issuer are verified here; others pass to the next authenticator. */
export async function oidcAuthenticator(options: OidcOptions): Promise<Authenticator> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl ?? (await discoverJwks(options.issuer))));
  const mapping = {
    usernameClaim: options.usernameClaim ?? "sub",
    groupsClaim: options.groupsClaim ?? "groups",
    usernamePrefix: options.usernamePrefix ?? DEFAULT_OIDC_PREFIX,
    groupsPrefix: options.groupsPrefix ?? DEFAULT_OIDC_PREFIX,
  };
  return {
    async authenticate(token) {
      let claimed: JWTPayload;
      try {
        claimed = decodeJwt(token);
      } catch {
        return undefined;
      }
      if (claimed.iss !== options.issuer) return undefined;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockToleranceSec ?? 30,
        }));
      } catch {
        return undefined;
      }
      return identityFromClaims(payload, mapping);
    },
  };
}
