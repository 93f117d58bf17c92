// Framing of the Kubernetes WebSocket streaming protocol, v5.channel.k8s.io: every binary message
// starts with a channel byte; v5 adds a CLOSE message (channel 255) to half-close one stream.
import { z } from "zod";

export const K8S_SUBPROTOCOL = "v5.channel.k8s.io";

export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function encodeStdin(data: Uint8Array | string): Buffer {
  const payload = typeof data === "string" ? Buffer.from(data) : data;
  const frame = Buffer.allocUnsafe(payload.length + 1);
  frame[0] = Channel.stdin;
  frame.set(payload, 1);
  return frame;
}

export function encodeResize(cols: number, rows: number): Buffer {
  return Buffer.concat([Buffer.from([Channel.resize]), Buffer.from(JSON.stringify({ Width: cols, Height: rows }))]);
}

export function encodeCloseStdin(): Buffer {
  return Buffer.from([Channel.close, Channel.stdin]);
}

export type Frame =
  | { kind: "output"; data: Buffer }
  | { kind: "status"; exitCode?: number; message: string; success: boolean }
  | { kind: "ignored" };

const Status = z.object({
  status: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  details: z
    .object({ causes: z.array(z.object({ reason: z.string().optional(), message: z.string().optional() })).optional() })
    .optional(),
});

/** Decodes one message from the API server. */
export function decodeFrame(message: Buffer): Frame {
  if (message.length === 0) return { kind: "ignored" };
  const channel = message[0];
  const body = message.subarray(1);
  if (channel === Channel.stdout || channel === Channel.stderr) {
    return body.length === 0 ? { kind: "ignored" } : { kind: "output", data: body };
  }
  if (channel === Channel.error && body.length > 0) return decodeStatus(body);
  return { kind: "ignored" };
}

function decodeStatus(body: Buffer): Frame {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString("utf8"));
  } catch {
    return { kind: "status", success: false, message: "unreadable status from the API server" };
  }
  const parsed = Status.safeParse(raw);
  if (!parsed.success) return { kind: "status", success: false, message: "unexpected status from the API server" };
  const status = parsed.data;
  if (status.status === "Success") return { kind: "status", success: true, exitCode: 0, message: "exited" };
  const code = status.details?.causes?.find((cause) => cause.reason === "ExitCode")?.message;
  const exitCode = code !== undefined && /^\d+$/.test(code) ? Number(code) : undefined;
  return { kind: "status", success: false, message: status.message ?? status.reason ?? "failed", ...(exitCode === undefined ? {} : { exitCode }) };
}

export interface StreamTarget {
  namespace: string;
  pod: string;
  container: string;
  /** attach joins the container's main process; exec starts `command` in it. */
  mode: "attach" | "exec";
  command?: string[];
}

/** The WebSocket URL for attaching to or exec'ing in a container with a TTY. */
export function streamUrl(server: string, target: StreamTarget): string {
  const base = new URL(server);
  base.protocol = base.protocol === "http:" ? "ws:" : "wss:";
  const path = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/${target.mode}`;
  const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
  const query = url.searchParams;
  query.set("container", target.container);
  query.set("stdin", "true");
  query.set("stdout", "true");
  query.set("tty", "true");
  if (target.mode === "exec") {
    for (const arg of target.command ?? ["/bin/sh"]) query.append("command", arg);
  }
  return url.toString();
}
