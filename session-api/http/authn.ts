// Pulls the bearer token out of a request and turns it into an Identity, refusing tokens in
// query strings outright so they never end up in access logs or browser history.
import type { IncomingMessage } from "node:http";
import { TokenRefused, type Authenticator, type Identity } from "../auth/identity.js";
import { BEARER_PREFIX } from "../terminal/protocol.js";
import { ApiError } from "./errors.js";

const QUERY_TOKEN_NAMES = ["token", "access_token", "accesstoken", "bearer", "auth", "authorization", "id_token", "jwt"];

/** Throws 400 when the URL carries anything that looks like a credential. */
export function refuseQueryToken(url: string | undefined): void {
  const query = new URL(url ?? "/", "http://x").searchParams;
  for (const key of query.keys()) {
    if (QUERY_TOKEN_NAMES.includes(key.toLowerCase())) {
      throw new ApiError(
        "BadRequest",
        `tokens are not accepted in the query string (found "${key}"); send "Authorization: Bearer <token>", or for WebSockets the subprotocol ${BEARER_PREFIX}<token>`,
      );
    }
  }
}

/** The token from `Authorization: Bearer`, or from the `agentbox.bearer.` WebSocket subprotocol. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new ApiError("Unauthenticated", 'the Authorization header must be "Bearer <token>"');
    return match[1];
  }
  const protocols = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const carried = protocols.find((p) => p.startsWith(BEARER_PREFIX));
  return carried ? carried.slice(BEARER_PREFIX.length) : undefined;
}

export async function authenticate(req: IncomingMessage, authenticator: Authenticator): Promise<Identity> {
  refuseQueryToken(req.url);
  const token = bearerToken(req);
  if (token === undefined || token === "") {
    throw new ApiError("Unauthenticated", "sign in: send \"Authorization: Bearer <token>\" (a Kubernetes, OIDC or development token)");
  }
  let identity: Identity | undefined;
  try {
    identity = await authenticator.authenticate(token);
  } catch (err) {
    if (err instanceof TokenRefused) throw new ApiError("Unauthenticated", err.message, undefined, { cause: err });
    throw new ApiError("Unavailable", "cannot check the token right now; try again shortly", undefined, { cause: err });
  }
  if (!identity) throw new ApiError("Unauthenticated", "the token was not accepted: it is unknown, expired, or meant for another audience");
  return identity;
}
