// `agentbox run`: create a Batch session, show progress, stream its output, exit with the
// agent's code, delete the session afterwards unless --keep.
import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import type { Command } from "../args.js";
import type { CreateSessionBody, SessionApiClient } from "../client.js";
import { CliError } from "../errors.js";
import { EXIT, exitCodeForSession } from "../exit-codes.js";
import { followLogs } from "../follow-logs.js";
import { hasOutput, isFinished, progressLine, startProblem } from "../format.js";
import type { SessionView } from "../schemas.js";

export type RunCommand = Extract<Command, { kind: "run" }>;

export interface RunDeps {
  client: SessionApiClient;
  stdout: Writable;
  stderr: Writable;
  /** Aborted on Ctrl-C. */
  interrupt: AbortSignal;
  pollMs?: number;
}

/** The request body that creates the session `name` from the command line. */
export function buildRunBody(cmd: RunCommand, name: string): CreateSessionBody {
  const agent: Record<string, unknown> = { tty: false };
  if (cmd.image !== undefined) agent.image = cmd.image;
  if (cmd.command.length > 0) agent.command = cmd.command;
  if (cmd.env.length > 0) agent.env = cmd.env;
  return { name, ...(cmd.template !== undefined ? { template: cmd.template } : {}), spec: { agent, lifecycle: { mode: "Batch" } } };
}

export function generateName(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return `run-${[...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join("")}`;
}

class Stop extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export async function runCommand(cmd: RunCommand, deps: RunDeps): Promise<number> {
  const name = cmd.name ?? generateName();
  const say = (text: string): void => {
    if (!cmd.quiet) deps.stderr.write(`[agentbox] ${text}\n`);
  };
  try {
    await deps.client.createSession(buildRunBody(cmd, name));
  } catch (err) {
    // A refused spec (missing template, a locked field) means the session could not start.
    if (err instanceof CliError && err.exitCode === EXIT.badRequest) throw new CliError(err.message, EXIT.startFailed, { cause: err });
    throw err;
  }
  say(`created session ${name} in namespace ${deps.client.namespace}`);

  // From here on every way out deletes the session (unless --keep).
  const stop = new AbortController();
  const timer = cmd.timeoutSeconds === undefined ? undefined : setTimeout(() => stop.abort(new Stop(EXIT.timeout, `--timeout ${cmd.timeoutSeconds}s passed`)), cmd.timeoutSeconds * 1000);
  const onInterrupt = (): void => stop.abort(new Stop(EXIT.interrupted, "interrupted"));
  deps.interrupt.addEventListener("abort", onInterrupt, { once: true });
  if (deps.interrupt.aborted) onInterrupt();
  try {
    return await follow(name, deps, stop.signal, say);
  } catch (err) {
    if (err instanceof Stop || stop.signal.aborted) {
      const reason = stop.signal.reason instanceof Stop ? stop.signal.reason : err instanceof Stop ? err : new Stop(EXIT.interrupted, "interrupted");
      deps.stderr.write(`[agentbox] ${reason.message}; session ${name} did not finish\n`);
      return reason.code;
    }
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    deps.interrupt.removeEventListener("abort", onInterrupt);
    await cleanUp(name, cmd.keep, deps, say);
  }
}

async function follow(name: string, deps: RunDeps, signal: AbortSignal, say: (t: string) => void): Promise<number> {
  const pollMs = deps.pollMs ?? 500;
  let session = await waitFor(name, deps, signal, pollMs, say, (s) => hasOutput(s));
  const problem = startProblem(session);
  if (problem !== undefined && !hasOutput(session)) {
    deps.stderr.write(`[agentbox] session ${name} cannot start: ${problem}\n`);
    return EXIT.startFailed;
  }
  if (session.status.phase === "Running") say("the agent is running; its output follows");
  let progress = progressLine(session, undefined);
  let logsFailed = false;
  let text = "";
  await followLogs({
    fetch: async () => {
      if (logsFailed) return text;
      try {
        text = await deps.client.logs(name);
      } catch (err) {
        if (signal.aborted) throw err;
        // The exit code still matters when the output cannot be shown.
        logsFailed = true;
        deps.stderr.write(`[agentbox] cannot show the output: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      return text;
    },
    sink: deps.stdout,
    signal,
    pollMs,
    done: async () => {
      session = await deps.client.getSession(name);
      const line = progressLine(session, progress);
      if (line !== undefined && !isFinished(session)) say(line);
      progress = line ?? progress;
      return isFinished(session);
    },
  });
  const code = exitCodeForSession({ phase: session.status.phase ?? "", exitCode: session.status.exitCode });
  say(`session ${name} ${session.status.phase ?? "ended"}${session.status.exitCode !== undefined ? ` with exit code ${session.status.exitCode}` : ""}${code !== 0 && session.status.message ? `: ${session.status.message}` : ""}`);
  return code;
}

/** Polls the session until `done` holds or it cannot start; reports progress as it changes. */
async function waitFor(name: string, deps: RunDeps, signal: AbortSignal, pollMs: number, say: (t: string) => void, done: (s: SessionView) => boolean): Promise<SessionView> {
  let last: string | undefined;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const session = await deps.client.getSession(name);
    const line = progressLine(session, last);
    if (line !== undefined) {
      say(line);
      last = line;
    }
    if (done(session) || isFinished(session) || startProblem(session) !== undefined) return session;
    try {
      await delay(pollMs, undefined, { signal });
    } catch {
      throw signal.reason;
    }
  }
}

const REMOVAL_WAIT_MS = 60_000;

async function cleanUp(name: string, keep: boolean, deps: RunDeps, say: (t: string) => void): Promise<void> {
  if (keep) {
    say(`kept session ${name}: agentbox logs ${name}; agentbox rm ${name}`);
    return;
  }
  try {
    await deps.client.deleteSession(name);
    // Deletion runs in the foreground (the pod goes first), so a CI job that checks for
    // leftovers right after run finds none.
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    while (await sessionExists(deps.client, name)) {
      if (Date.now() > deadline) {
        deps.stderr.write(`[agentbox] session ${name} is still being removed; it goes on in the background\n`);
        return;
      }
      await delay(deps.pollMs ?? 500);
    }
    say(`deleted session ${name}`);
  } catch (err) {
    const message = err instanceof CliError ? err.message : String(err);
    deps.stderr.write(`[agentbox] could not delete session ${name}: ${message}; delete it with: agentbox rm ${name}\n`);
  }
}

async function sessionExists(client: SessionApiClient, name: string): Promise<boolean> {
  try {
    await client.getSession(name);
    return true;
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.notFound) return false;
    throw err;
  }
}
