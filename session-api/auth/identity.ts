export interface Identity {
  username: string;
  groups: string[];
  uid?: string;
  /** Which authenticator vouched for this identity, for audit logs. */
  via: "static" | "oidc" | "kubernetes";
}

/**
 * A token an authenticator recognises as its own and refuses for a reason the person can fix
 * (an unverified email, a reserved name, the wrong audience). Its message is shown to them as is,
 * so it never holds the token or anything else secret. It ends the chain: no other authenticator
 * is asked about a token its own issuer refused.
 */
export class TokenRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenRefused";
  }
}

export interface Authenticator {
  /**
   * The identity behind a bearer token, or undefined when this authenticator does not accept it;
   * throws TokenRefused when it should say why.
   */
  authenticate(token: string): Promise<Identity | undefined>;
}

/** Tries each authenticator in turn; the first that accepts the token wins. */
export function chainAuthenticators(authenticators: Authenticator[]): Authenticator {
  return {
    async authenticate(token) {
      for (const authenticator of authenticators) {
        const identity = await authenticator.authenticate(token);
        if (identity) return identity;
      }
      return undefined;
    },
  };
}

export interface ResourceAttributes {
  verb: "get" | "list" | "create" | "delete";
  resource: "agentsessions" | "agenttemplates";
  subresource?: "terminal";
  namespace: string;
  name?: string;
}

export interface Authorizer {
  allowed(identity: Identity, attributes: ResourceAttributes): Promise<boolean>;
}
