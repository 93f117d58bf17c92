// Prints a session's output as it grows. The session API answers a log request with the whole
// log so far, so following it means asking again and printing only what is new.
import type { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";

/** What to print of `text` when `printed` characters of the log were printed before. */
export function newOutput(printed: number, text: string): { out: string; printed: number } {
  // A shorter log means it started over (the container restarted): print it from the start.
  if (text.length < printed) return { out: text, printed: text.length };
  return { out: text.slice(printed), printed: text.length };
}

export interface FollowOptions {
  fetch: () => Promise<string>;
  sink: Writable;
  signal: AbortSignal;
  pollMs: number;
  /** Checked after each fetch; when true, one last fetch prints the end and following stops. */
  done: () => Promise<boolean>;
}

/** Writes with back-pressure; a sink that broke (its reader left) takes nothing more and never blocks. */
async function write(sink: Writable, text: string): Promise<void> {
  if (text === "" || sink.destroyed || !sink.writable) return;
  if (sink.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off("drain", done);
      sink.off("close", done);
      sink.off("error", done);
      resolve();
    };
    sink.on("drain", done);
    sink.on("close", done);
    sink.on("error", done);
  });
}

export async function followLogs(options: FollowOptions): Promise<void> {
  let printed = 0;
  const print = async (): Promise<void> => {
    const next = newOutput(printed, await options.fetch());
    printed = next.printed;
    await write(options.sink, next.out);
  };
  for (;;) {
    await print();
    if (await options.done()) break;
    await delay(options.pollMs, undefined, { signal: options.signal });
  }
  await print();
}
