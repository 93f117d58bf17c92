// The few ways a proxied request can fail, and the one place they become HTTP status codes.

export type ProxyErrorKind =
  | "bad-request" // malformed or smuggling-prone framing
  | "forbidden" // policy: host not allowed, stub towards an unbound host, private address
  | "misdirected" // CONNECT target, SNI, Host and absolute-form authority disagree
  | "upstream" // could not reach or talk to the upstream
  | "timeout"; // upstream too slow

export class ProxyError extends Error {
  readonly kind: ProxyErrorKind;
  constructor(kind: ProxyErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProxyError";
    this.kind = kind;
  }
}

/** Maps an error kind to the status code the client receives. */
export function statusFor(kind: ProxyErrorKind): number {
  switch (kind) {
    case "bad-request":
      return 400;
    case "forbidden":
      return 403;
    case "misdirected":
      return 421;
    case "upstream":
      return 502;
    case "timeout":
      return 504;
  }
}

/**
 * A destination the policy does not allow. Names the host and the rule a person would change
 * (the session's spec), so the agent's output says what to ask for.
 */
export function notAllowed(host: string): ProxyError {
  return new ProxyError("forbidden", `${host} is not in spec.egress.allow (nor bound to a credential)`);
}

/** Any thrown value as a ProxyError; unknown errors count as upstream failures. */
export function asProxyError(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT") {
    return new ProxyError("timeout", "the upstream did not answer in time", { cause: error });
  }
  return new ProxyError("upstream", `the upstream could not be reached (${typeof code === "string" ? code : "connection failed"})`, { cause: error });
}
