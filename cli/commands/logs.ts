import type { Writable } from "node:stream";
import type { SessionApiClient } from "../client.js";

export async function logsCommand(client: SessionApiClient, name: string, follow: boolean, stdout: Writable, interrupt: AbortSignal): Promise<number> {
  await client.streamLogs(name, { follow, sink: stdout, signal: interrupt });
  return 0;
}
