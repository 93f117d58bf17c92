import type { SessionApiClient } from "../client.js";
import { EXIT } from "../exit-codes.js";
import { attach, terminalUrl, type TerminalIO } from "../terminal.js";

/** Attaches; the exit code is 0 on detach, the agent's when it ended, 69 when the connection dropped. */
export async function attachCommand(client: SessionApiClient, name: string, options: { view: boolean; io: TerminalIO; interrupt: AbortSignal }): Promise<number> {
  const { io } = options;
  const url = terminalUrl(client.url(`sessions/${encodeURIComponent(name)}/terminal`), options.view);
  const outcome = await attach({ url, token: client.token, ...client.tls, io, signal: options.interrupt });
  const nl = io.stdin.isTTY ? "\r\n" : "\n";
  switch (outcome.kind) {
    case "detached":
      io.stderr.write(`${nl}[agentbox] detached from ${name}; it keeps running (agentbox attach ${name} to come back)${nl}`);
      return 0;
    case "ended":
      io.stderr.write(`${nl}[agentbox] the agent ended${outcome.exitCode !== undefined ? ` with exit code ${outcome.exitCode}` : ""}${nl}`);
      return outcome.exitCode ?? 0;
    case "closed":
      io.stderr.write(`${nl}[agentbox] the server closed the terminal (${outcome.code}${outcome.reason ? `: ${outcome.reason}` : ""})${nl}`);
      return outcome.code === 1000 ? 0 : EXIT.unavailable;
  }
}
