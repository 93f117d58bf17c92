import { z } from "zod";

// What a sidecar that has not started says about its credentials. The sidecar writes one JSON
// line to stdout whenever its set of unresolved credentials changes ("credentials-unresolved")
// and one when all resolve ("credentials-resolved"); the operator reads the last lines of that
// log through pods/log and turns the latest such line into CredentialsResolved's reason.

export const SIDECAR_REASONS = ["PermissionDenied", "PathMissing", "KeyMissing", "LoginFailed", "Unreachable", "Sealed", "Unavailable", "InvalidResponse"] as const;
export type SidecarReason = (typeof SIDECAR_REASONS)[number];

export interface UnresolvedCredential {
  credential: string;
  reason: SidecarReason;
  message: string;
}

/** The sidecar's latest word on its credentials: nothing said yet, all resolved, or some not. */
export type SidecarCredentials = { state: "unknown" } | { state: "resolved" } | { state: "unresolved"; unresolved: UnresolvedCredential[] };

const MAX_MESSAGE = 300;

const Unresolved = z.object({
  event: z.literal("credentials-unresolved"),
  unresolved: z
    .array(
      z.object({
        credential: z.string().min(1).max(253),
        // A reason this operator does not know yet (a newer sidecar) still says "unavailable".
        reason: z.enum(SIDECAR_REASONS).catch("Unavailable"),
        message: z.string().catch("").transform((m) => m.slice(0, MAX_MESSAGE)),
      }),
    )
    .max(64),
});
const Resolved = z.object({ event: z.literal("credentials-resolved") });

/**
 * The latest credentials event in `logText` (the tail of the sidecar's log). Lines that are not
 * JSON, or JSON that is not one of the two events, are skipped: the sidecar logs other things.
 */
export function credentialsFromLog(logText: string): SidecarCredentials {
  let latest: SidecarCredentials = { state: "unknown" };
  for (const line of logText.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      continue;
    }
    const unresolved = Unresolved.safeParse(value);
    if (unresolved.success) {
      latest = unresolved.data.unresolved.length > 0 ? { state: "unresolved", unresolved: unresolved.data.unresolved } : { state: "resolved" };
      continue;
    }
    if (Resolved.safeParse(value).success) latest = { state: "resolved" };
  }
  return latest;
}

/** The CredentialsResolved reason and message for credentials a sidecar could not resolve. */
export function unresolvedCondition(unresolved: readonly UnresolvedCredential[]): { reason: SidecarReason; message: string } {
  const first = unresolved[0]!;
  const each = unresolved.map((u) => `${u.credential} (${u.reason}${u.message ? `: ${u.message}` : ""})`).join("; ");
  const noun = unresolved.length === 1 ? "credential" : "credentials";
  return { reason: first.reason, message: `the sidecar cannot resolve ${noun} ${each}; fix the source (Vault path, key, policy or role, or the Secret) and the sidecar retries` };
}

/** How long a sidecar may take to start before the operator looks at its log. */
export const SIDECAR_GRACE_MS = 3_000;
/** How often, at most, the operator reads one session's sidecar log. */
export const SIDECAR_LOG_INTERVAL_MS = 5_000;

/**
 * Whether to read the sidecar's log now: only for a sidecar that has not started although its
 * pod has existed for a while, and not more often than every SIDECAR_LOG_INTERVAL_MS.
 */
export function shouldReadSidecarLog(o: { sidecarStarted: boolean; podCreatedMs: number | undefined; lastReadMs: number | undefined; nowMs: number }): boolean {
  if (o.sidecarStarted || o.podCreatedMs === undefined) return false;
  if (o.nowMs - o.podCreatedMs < SIDECAR_GRACE_MS) return false;
  return o.lastReadMs === undefined || o.nowMs - o.lastReadMs >= SIDECAR_LOG_INTERVAL_MS;
}
