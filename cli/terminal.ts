// `agentbox attach`: this terminal ↔ the session API's terminal WebSocket. The token travels in
// Sec-WebSocket-Protocol (never in the URL); binary frames are terminal bytes, text frames JSON
// control messages (protocol in session-api/terminal/protocol.ts).
import { WebSocket, type RawData } from "ws";
import { z } from "zod";
import { BEARER_PREFIX, SUBPROTOCOL } from "../session-api/terminal/protocol.js";
import { connectionHint } from "./client.js";
import { CliError } from "./errors.js";
import { EXIT, exitCodeForStatus } from "./exit-codes.js";
import { errorMessage } from "./schemas.js";

/** Ctrl-] as a byte, the detach key (as telnet and docker attach use). */
export const DETACH_KEY = 0x1d;

/** Splits a stdin chunk at the detach key: what to send before it, and whether it was pressed. */
export function scanForDetach(chunk: Buffer): { forward: Buffer; detach: boolean } {
  const at = chunk.indexOf(DETACH_KEY);
  return at < 0 ? { forward: chunk, detach: false } : { forward: chunk.subarray(0, at), detach: true };
}

const ServerControl = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), role: z.enum(["rw", "ro"]) }).loose(),
  z.object({ type: z.literal("snapshot"), cols: z.number(), rows: z.number(), data: z.string() }).loose(),
  z.object({ type: z.literal("resize"), cols: z.number(), rows: z.number() }).loose(),
  z.object({ type: z.literal("upstream"), state: z.enum(["waiting", "attached", "reconnecting", "ended"]), exitCode: z.number().int().optional() }).loose(),
]);

export type AttachOutcome = { kind: "detached" } | { kind: "ended"; exitCode?: number } | { kind: "closed"; code: number; reason: string };

export interface TerminalIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number; on(event: "resize", listener: () => void): unknown; off(event: "resize", listener: () => void): unknown };
  stderr: NodeJS.WritableStream;
}

export type AttachOptions = { url: URL; token: string; ca?: string; io: TerminalIO; signal?: AbortSignal };

/** The WebSocket URL of a session's terminal, from the REST URL of the same path. */
export function terminalUrl(httpUrl: URL, view = false): URL {
  const url = new URL(httpUrl.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  // The token never goes in the query string; `mode=view` only asks for a read-only seat.
  if (view) url.searchParams.set("mode", "view");
  return url;
}

/** Runs one attach until the person detaches, the agent ends, or the connection closes. */
export function attach(options: AttachOptions): Promise<AttachOutcome> {
  const { io } = options;
  const protocols = [SUBPROTOCOL, `${BEARER_PREFIX}${options.token}`];
  let ws: WebSocket;
  try {
    ws = new WebSocket(options.url, protocols, { ...(options.ca ? { ca: options.ca } : {}), handshakeTimeout: 30_000 });
  } catch (cause) {
    return Promise.reject(new CliError("the token cannot be sent in a WebSocket subprotocol (it contains characters other than letters, digits and !#$%&'*+-.^_`|~): use a Kubernetes or OIDC token", EXIT.config, { cause }));
  }
  return new Promise<AttachOutcome>((resolve, reject) => {
    let settled = false;
    const raw = io.stdin.isTTY === true && typeof io.stdin.setRawMode === "function";
    const nl = raw ? "\r\n" : "\n";
    const note = (text: string): void => {
      io.stderr.write(`${nl}[agentbox] ${text}${nl}`);
    };
    const sendResize = (): void => {
      if (ws.readyState === WebSocket.OPEN && io.stdout.columns && io.stdout.rows) ws.send(JSON.stringify({ type: "resize", cols: io.stdout.columns, rows: io.stdout.rows }));
    };
    const onInput = (chunk: Buffer | string): void => {
      const { forward, detach } = scanForDetach(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
      if (forward.length > 0 && ws.readyState === WebSocket.OPEN) ws.send(forward, { binary: true });
      if (detach) finish({ kind: "detached" });
    };
    // Without a terminal (raw mode forwards Ctrl-C to the agent), SIGINT detaches.
    const onSignal = (): void => finish({ kind: "detached" });
    options.signal?.addEventListener("abort", onSignal, { once: true });
    const finish = (outcome: AttachOutcome | Error): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onSignal);
      io.stdin.off("data", onInput);
      io.stdout.off("resize", sendResize);
      if (raw) io.stdin.setRawMode?.(false);
      io.stdin.pause();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, "client detached");
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };

    ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 65536) chunks.push(chunk);
      });
      res.once("end", () => {
        let said: string | undefined;
        try {
          said = errorMessage(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch {
          said = undefined;
        }
        const hint = status === 401 ? "check AGENTBOX_TOKEN" : status === 403 ? "attaching needs the agent-user ClusterRole (agentbox-agent-user in a release named agentbox; agent-viewer to watch with --view)" : "";
        finish(new CliError(`cannot attach (HTTP ${status}): ${said ?? "refused"}${hint ? `; ${hint}` : ""}`, exitCodeForStatus(status)));
      });
    });
    ws.on("error", (cause: NodeJS.ErrnoException) => finish(new CliError(`cannot attach to ${options.url.origin} (${cause.code ?? cause.message}): ${connectionHint(cause.code ?? "")}`, EXIT.unavailable, { cause })));
    ws.on("open", () => {
      if (ws.protocol !== SUBPROTOCOL) {
        finish(new CliError(`the server did not speak the terminal protocol ${SUBPROTOCOL} (got "${ws.protocol}")`, EXIT.protocol));
        return;
      }
      if (raw) io.stdin.setRawMode?.(true);
      io.stdin.on("data", onInput);
      io.stdin.resume();
      io.stdout.on("resize", sendResize);
      sendResize();
      io.stderr.write(`[agentbox] attached; detach with Ctrl-]${nl}`);
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        io.stdout.write(bytes);
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString("utf8"));
      } catch {
        return;
      }
      const msg = ServerControl.safeParse(json);
      if (!msg.success) return; // a newer server's message this CLI does not know
      const m = msg.data;
      if (m.type === "hello" && m.role === "ro") note("read-only: you may watch; what you type is not sent");
      if (m.type === "snapshot") io.stdout.write(io.stdout.isTTY ? `\x1b[H\x1b[2J\x1b[3J${m.data}` : m.data);
      if (m.type === "upstream" && m.state === "waiting") note("the session is starting; its terminal follows as soon as the agent runs");
      if (m.type === "upstream" && m.state === "reconnecting") note("the connection to the agent dropped; reconnecting");
      if (m.type === "upstream" && m.state === "ended") finish(m.exitCode === undefined ? { kind: "ended" } : { kind: "ended", exitCode: m.exitCode });
    });
    ws.on("close", (code, reason) => finish({ kind: "closed", code, reason: reason.toString("utf8") }));
  });
}
