// Exit codes. `agentbox run` exits with the agent's own code when the agent ran; codes of the
// CLI's own making follow sysexits(3) and timeout(1) so CI scripts can tell them apart from
// most agents' codes.
export const EXIT = {
  ok: 0,
  /** The agent ended without a known exit code (e.g. its pod was removed). */
  agentFailed: 1,
  /** Ctrl-C while the CLI waited (128 + SIGINT). */
  interrupted: 130,
  /** The session expired (ttlSeconds) or `--timeout` passed before the agent finished. */
  timeout: 124,
  /** The session could not start: template missing, image not pullable, spec refused. */
  startFailed: 125,
  /** Bad command line (EX_USAGE). */
  usage: 64,
  /** The request was invalid for the server (4xx other than 401/403/404). */
  badRequest: 65,
  /** Session or template not found. */
  notFound: 66,
  /** The session API cannot be reached or answered with a 5xx (EX_UNAVAILABLE). */
  unavailable: 69,
  /** The server answered with something this CLI does not understand (EX_PROTOCOL). */
  protocol: 76,
  /** Not signed in or not allowed (EX_NOPERM). */
  denied: 77,
  /** Local configuration missing: no server URL, unreadable token file (EX_CONFIG). */
  config: 78,
} as const;

/** Maps an HTTP status from the session API to the CLI's exit code. */
export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.denied;
  if (status === 404) return EXIT.notFound;
  if (status >= 400 && status < 500) return EXIT.badRequest;
  return EXIT.unavailable;
}

export type FinishedSession = { phase: string; exitCode?: number | undefined };

/**
 * The exit code of `agentbox run` once the session has ended: the agent's own code when the
 * agent ran, else a code that says why it did not finish.
 */
export function exitCodeForSession(session: FinishedSession): number {
  if (session.exitCode !== undefined) return clampExitCode(session.exitCode);
  switch (session.phase) {
    case "Succeeded":
      return EXIT.ok;
    case "Expired":
      return EXIT.timeout;
    default:
      return EXIT.agentFailed;
  }
}

/** A process exit code is one byte; a negative or larger code (a signal) maps like a shell does. */
function clampExitCode(code: number): number {
  if (code >= 0 && code <= 255) return code;
  return code < 0 ? 128 + Math.min(-code, 127) : EXIT.agentFailed;
}
