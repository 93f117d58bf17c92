export interface Identity {
  username: string;
  groups: string[];
  uid?: string;
  /** Which authenticator vouched for this identity, for audit logs. */
  via: "static" | "oidc" | "kubernetes";
}

export interface Authenticator {
  /** The identity behind a bearer token, or undefined when this authenticator does not accept it. */
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
