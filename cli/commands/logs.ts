import type { Writable } from "node:stream";
import type { SessionApiClient } from "../client.js";
import { followLogs } from "../follow-logs.js";
import { isFinished } from "../format.js";

/** Prints the agent's output; with follow, keeps printing until the session finishes or Ctrl-C. */
export async function logsCommand(client: SessionApiClient, name: string, follow: boolean, stdout: Writable, interrupt: AbortSignal, pollMs = 1000): Promise<number> {
  if (!follow) {
    stdout.write(await client.logs(name));
    return 0;
  }
  try {
    await followLogs({ fetch: () => client.logs(name), sink: stdout, signal: interrupt, pollMs, done: async () => isFinished(await client.getSession(name)) });
  } catch (err) {
    if (!interrupt.aborted) throw err;
  }
  return 0;
}
