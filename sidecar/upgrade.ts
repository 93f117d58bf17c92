// WebSocket (and other) upgrades: the handshake goes through the same plan as any request,
// so its headers are verified and swapped; after a 101 the two sockets are joined raw.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ConnectionContext, Runtime } from "./context.js";
import { asProxyError, statusFor, type ProxyError } from "./errors.js";
import { headOf, planRequest, upstreamRequest } from "./forward.js";
import { endToEndHeaders, headerList } from "./http-framing.js";
import { replaceAll } from "./scrub.js";
import { audit } from "./telemetry.js";
import { resolveAllowed } from "./upstream.js";

export async function handleUpgrade(runtime: Runtime, context: ConnectionContext, request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on("error", () => socket.destroy());
  const started = performance.now();
  try {
    const plan = planRequest(runtime, context, headOf(request), true);
    const resolved = await resolveAllowed(plan.destination.host, runtime.resolver, plan.state.policy.allowedAddresses);
    const upstream = upstreamRequest(runtime, context, plan, resolved, request.method ?? "GET", false);
    const scrub = (value: string): string => (plan.bound ? replaceAll(Buffer.from(value, "latin1"), plan.state.scrubForms).toString("latin1") : value);
    upstream.once("upgrade", (response: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer) => {
      const lines = [`HTTP/1.1 ${response.statusCode ?? 101} ${response.statusMessage ?? "Switching Protocols"}`];
      for (const [name, value] of endToEndHeaders(headerList(response.rawHeaders), { upgrade: true })) lines.push(`${name}: ${scrub(value)}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.on("error", () => socket.destroy());
      socket.on("close", () => upstreamSocket.destroy());
      upstreamSocket.on("close", () => socket.destroy());
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      if (plan.used.length > 0) {
        for (const name of plan.used) runtime.metrics.swaps.inc({ credential: name });
        audit(runtime.logger, {
          event: "request", credentials: plan.used, host: plan.destination.host, method: request.method ?? "GET",
          path: plan.path.split("?")[0] ?? "", status: response.statusCode ?? 101, bytesIn: 0, bytesOut: 0,
          durationMs: performance.now() - started,
        });
      }
    });
    upstream.once("response", (response: IncomingMessage) => {
      // The upstream declined the upgrade: pass its answer back and close.
      const lines = [`HTTP/1.1 ${response.statusCode ?? 502} ${response.statusMessage ?? ""}`];
      const headers = endToEndHeaders(headerList(response.rawHeaders)).filter(([name]) => name !== "content-length");
      for (const [name, value] of headers) lines.push(`${name}: ${scrub(value)}`);
      lines.push("connection: close");
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      response.on("data", (chunk: Buffer) => socket.write(plan.bound ? replaceAll(chunk, plan.state.scrubForms) : chunk));
      response.on("end", () => socket.end());
      response.on("error", () => socket.destroy());
    });
    upstream.once("error", (error) => writeRefusal(socket, asProxyError(error)));
    upstream.end();
  } catch (error) {
    const failure = asProxyError(error);
    runtime.metrics.refusals.inc({ kind: failure.kind });
    writeRefusal(socket, failure);
  }
}

/** Answers a raw socket (upgrade or CONNECT) with an error status, then closes it. */
export function writeRefusal(socket: Duplex, error: ProxyError): void {
  if (socket.destroyed) return;
  const status = statusFor(error.kind);
  const body = `agentbox sidecar: ${error.message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-agentbox-refused: ${error.kind}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  421: "Misdirected Request",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};
