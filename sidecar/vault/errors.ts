// Every failure of a Vault operation mapped, in one place, to what a person can act on and to
// what the sidecar should do next. The messages never carry a value, a token or a JWT: they are
// built from the status, Vault's own error text (which names paths, not values) and the
// network error code only.

export type VaultFailureReason =
  | "PermissionDenied"
  | "PathMissing"
  | "KeyMissing"
  | "Unreachable"
  | "Sealed"
  | "LoginFailed"
  | "Unavailable"
  | "InvalidResponse";

export interface VaultFailure {
  readonly reason: VaultFailureReason;
  /** A sentence for the operator's condition message and the sidecar's log. */
  readonly message: string;
  /** Worth trying again within the same read (network trouble, 5xx, rate limit). */
  readonly retryable: boolean;
  /** The token may have expired or been revoked: log in again, then retry. */
  readonly relogin: boolean;
}

export type VaultOperation = { kind: "read"; path: string; key: string } | { kind: "login"; method: string; mount: string };

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED", "ERR_SOCKET_CONNECTION_TIMEOUT"]);
const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_)/;

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  response?: { statusCode?: unknown; body?: unknown };
}

/** Vault's own error strings (they name paths and policies, never values), shortened. */
function vaultErrors(body: unknown): string {
  if (typeof body !== "object" || body === null) return "";
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return "";
  return errors
    .filter((error): error is string => typeof error === "string")
    .map((error) => error.replace(/\s+/g, " ").trim().slice(0, 200))
    .join("; ");
}

function describe(operation: VaultOperation): string {
  return operation.kind === "read" ? `reading ${operation.path}` : `logging in with ${operation.method} auth at auth/${operation.mount}`;
}

/** Maps an error thrown by node-vault (or by our own response checks) to a VaultFailure. */
export function classifyVaultError(error: unknown, operation: VaultOperation): VaultFailure {
  if (error instanceof VaultProblem) return error.failure;
  const shape = (typeof error === "object" && error !== null ? error : {}) as ErrorShape;
  const status = typeof shape.response?.statusCode === "number" ? shape.response.statusCode : undefined;
  const code = typeof shape.code === "string" ? shape.code : undefined;
  const what = describe(operation);
  if (status === undefined) {
    if (code !== undefined && TLS_CODES.test(code)) {
      return { reason: "Unreachable", message: `Vault's TLS certificate was not accepted (${code}) while ${what}: check vault.caFile and vault.address`, retryable: false, relogin: false };
    }
    const detail = code ?? (error instanceof Error && /timeout/i.test(error.message) ? "timeout" : "no response");
    const retryable = code === undefined || NETWORK_CODES.has(code) || detail === "timeout";
    return { reason: "Unreachable", message: `Vault is unreachable (${detail}) while ${what}: check vault.address and the network path to Vault`, retryable, relogin: false };
  }
  const said = vaultErrors(shape.response?.body);
  const suffix = said === "" ? "" : `: Vault said "${said}"`;
  if (operation.kind === "login") {
    if (status >= 500 || status === 429) {
      return status === 503
        ? { reason: "Sealed", message: `Vault is sealed or in standby (503) while ${what}${suffix}`, retryable: true, relogin: false }
        : { reason: "Unavailable", message: `Vault answered ${status} while ${what}${suffix}`, retryable: true, relogin: false };
    }
    return { reason: "LoginFailed", message: `Vault refused the login (${status}) while ${what}${suffix}: check the auth role and that it binds this service account and namespace`, retryable: false, relogin: false };
  }
  if (status === 403) {
    // A revoked or expired token and a policy that does not cover the path look the same: log
    // in again once; if the fresh token is refused too, it is the policy.
    return { reason: "PermissionDenied", message: `permission denied ${what}${suffix}: the Vault policy of this role does not allow reading it`, retryable: false, relogin: true };
  }
  if (status === 404) {
    return { reason: "PathMissing", message: `no secret at ${operation.path} (404): check the path and that the KV v2 engine is mounted there`, retryable: false, relogin: false };
  }
  if (status === 503) return { reason: "Sealed", message: `Vault is sealed or in standby (503) while ${what}${suffix}`, retryable: true, relogin: false };
  if (status >= 500 || status === 429 || status === 412) {
    return { reason: "Unavailable", message: `Vault answered ${status} while ${what}${suffix}`, retryable: true, relogin: false };
  }
  return { reason: "InvalidResponse", message: `Vault answered ${status} while ${what}${suffix}`, retryable: false, relogin: false };
}

/** A failure we detected ourselves (e.g. the key is absent from the secret), carried as an Error. */
export class VaultProblem extends Error {
  constructor(readonly failure: VaultFailure) {
    super(failure.message);
    this.name = "VaultProblem";
  }
}
