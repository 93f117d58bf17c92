import type { Writable } from "node:stream";
import type { OutputFormat } from "../args.js";
import type { SessionApiClient } from "../client.js";
import { sessionsTable } from "../format.js";

export async function lsCommand(client: SessionApiClient, output: OutputFormat, stdout: Writable, now: Date): Promise<number> {
  const sessions = await client.listSessions();
  if (output === "json") stdout.write(JSON.stringify({ items: sessions }, null, 2) + "\n");
  else if (output === "name") stdout.write(sessions.map((s) => `${s.metadata.name}\n`).join(""));
  else if (sessions.length === 0) stdout.write(`no sessions in namespace ${client.namespace}\n`);
  else stdout.write(sessionsTable(sessions, now));
  return 0;
}
