// From a verified JWT's claims to the identity RBAC sees, as kube-apiserver's OIDC authenticator
// does it: names and groups get a prefix so an identity provider cannot mint a Kubernetes name
// (`system:masters`, `system:serviceaccount:…`), an email only counts once the provider has
// verified it, and whatever still names a `system:` identity is refused.
import { TokenRefused, type Identity } from "./identity.js";

/** The default of --oidc-username-prefix and --oidc-groups-prefix. */
export const DEFAULT_OIDC_PREFIX = "oidc:";

/** Kubernetes reserves these names for itself; no OIDC user or group may carry one. */
const RESERVED = "system:";

export interface ClaimMapping {
  usernameClaim: string;
  groupsClaim: string;
  /** Put before the user name; "" for none. */
  usernamePrefix: string;
  /** Put before every group; "" for none. */
  groupsPrefix: string;
}

/** The identity these claims stand for; throws TokenRefused saying what is wrong with them. */
export function identityFromClaims(claims: Record<string, unknown>, mapping: ClaimMapping): Identity {
  const name = claims[mapping.usernameClaim];
  if (typeof name !== "string" || name === "") {
    throw new TokenRefused(`the OIDC token has no "${mapping.usernameClaim}" claim to name you by; ask your identity provider's administrator to include it`);
  }
  if (mapping.usernameClaim === "email" && claims.email_verified !== true) {
    throw new TokenRefused("the OIDC token's email is not verified (email_verified is not true); verify the address with your identity provider and sign in again");
  }
  const username = `${mapping.usernamePrefix}${name}`;
  if (username.startsWith(RESERVED)) {
    throw new TokenRefused(`the OIDC user name "${username}" is refused: names starting with "${RESERVED}" are reserved for Kubernetes`);
  }
  const groups = groupsOf(claims[mapping.groupsClaim]).map((group) => `${mapping.groupsPrefix}${group}`);
  const reserved = groups.find((group) => group.startsWith(RESERVED));
  if (reserved !== undefined) {
    throw new TokenRefused(`the OIDC group "${reserved}" is refused: names starting with "${RESERVED}" are reserved for Kubernetes; ask your identity provider's administrator to rename it`);
  }
  return { username, groups, ...(typeof claims.sub === "string" ? { uid: claims.sub } : {}), via: "oidc" };
}

// As kube-apiserver reads it: a list of strings, or one string for a single group.
function groupsOf(claim: unknown): string[] {
  if (typeof claim === "string") return claim === "" ? [] : [claim];
  if (!Array.isArray(claim)) return [];
  return claim.filter((group): group is string => typeof group === "string" && group !== "");
}
