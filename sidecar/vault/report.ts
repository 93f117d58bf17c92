// The log lines the operator reads while the sidecar has not started (contract with operator/):
// one `credentials-unresolved` line each time the set of unresolved credentials (or the reason of
// one) changes, and one `credentials-resolved` line when every credential resolves. Pure: the
// caller keeps the key of the last line it wrote and passes it back.
import type { Unresolved } from "./credentials.js";

export type CredentialsEvent =
  | { readonly event: "credentials-unresolved"; readonly unresolved: ReadonlyArray<{ credential: string; reason: Unresolved["reason"]; message: string }> }
  | { readonly event: "credentials-resolved" };

export interface CredentialsReport {
  /** Identifies what was reported; a later call with an equal key writes nothing. */
  readonly key: string;
  readonly line: CredentialsEvent;
}

/**
 * What to log now, or undefined when the last line written (`previousKey`) still holds. Messages
 * are not part of the key: one that only varies in detail (a network error code) would flood the log.
 */
export function credentialsReport(previousKey: string | undefined, unresolved: readonly Unresolved[]): CredentialsReport | undefined {
  const sorted = [...unresolved].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const key = JSON.stringify(sorted.map((entry) => [entry.name, entry.reason]));
  if (key === previousKey) return undefined;
  if (sorted.length === 0) return { key, line: { event: "credentials-resolved" } };
  return {
    key,
    line: { event: "credentials-unresolved", unresolved: sorted.map((entry) => ({ credential: entry.name, reason: entry.reason, message: entry.message })) },
  };
}
