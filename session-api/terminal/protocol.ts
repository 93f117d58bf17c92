// The viewer WebSocket protocol (subprotocol `agentbox.v1`). Binary frames are terminal bytes
// (output from the server, keystrokes from the viewer); text frames are JSON control messages.
import { z } from "zod";

export const SUBPROTOCOL = "agentbox.v1";
export const BEARER_PREFIX = "agentbox.bearer.";

export type Role = "rw" | "ro";

const Dimension = z.number().int().min(1).max(1000);

export const ClientControl = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("resize"), cols: Dimension, rows: Dimension }),
]);
export type ClientControl = z.infer<typeof ClientControl>;

export type ServerControl =
  | { type: "hello"; role: Role }
  | { type: "snapshot"; cols: number; rows: number; data: string }
  | { type: "resize"; cols: number; rows: number }
  // waiting: the session is Pending or Starting; the terminal attaches the moment its pod runs.
  | { type: "upstream"; state: "waiting" | "attached" | "reconnecting" | "ended"; exitCode?: number };

/** Parses a text frame from a viewer; undefined when it is not a message we know. */
export function parseClientControl(text: string): ClientControl | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = ClientControl.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
