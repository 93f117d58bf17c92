import type { Writable } from "node:stream";
import type { SessionApiClient } from "../client.js";
import { EXIT } from "../exit-codes.js";

/** Deletes every named session it can; exits non-zero if any was missing. */
export async function rmCommand(client: SessionApiClient, names: string[], stdout: Writable, stderr: Writable): Promise<number> {
  let code = 0;
  for (const name of names) {
    if (await client.deleteSession(name)) {
      stdout.write(`deleted ${name}\n`);
    } else {
      stderr.write(`no session ${name} in namespace ${client.namespace}\n`);
      code = EXIT.notFound;
    }
  }
  return code;
}
