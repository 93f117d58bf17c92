// WebSocket (and other) upgrades: the handshake goes through the same plan as any request,
// so its headers are verified and swapped. After a 101 from a host without credentials the
// two sockets are joined raw; towards a bound host only a WebSocket is accepted, without
// extensions (permessage-deflate would hide payloads from the scrubber), and its server frames
// are parsed, scrubbed and re-framed (websocket-frames.ts). Client frames go up unchanged.
import type { IncomingMessage } from "node:http";
import { pipeline, type Duplex } from "node:stream";
import type { ConnectionContext, Runtime } from "./context.js";
import { asProxyError, ProxyError, statusFor } from "./errors.js";
import { headOf, planRequest, upstreamRequest, type Plan } from "./forward.js";
import { endToEndHeaders, headerList, type HeaderList } from "./http-framing.js";
import { prepareResponse } from "./response-scrub.js";
import { ScrubTransform } from "./streams.js";
import { audit } from "./telemetry.js";
import { resolveAllowed } from "./upstream.js";
import { ServerFrameScrubber } from "./websocket-frames.js";

export async function handleUpgrade(runtime: Runtime, context: ConnectionContext, request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on("error", () => socket.destroy());
  const started = performance.now();
  try {
    const plan = scrubbablePlan(planRequest(runtime, context, headOf(request), true));
    const resolved = await resolveAllowed(plan.destination.host, runtime.resolver, plan.state.policy.allowedAddresses);
    const upstream = upstreamRequest(runtime, context, plan, resolved, request.method ?? "GET", false);
    const scrubber = plan.bound ? plan.state.scrubber : undefined;
    upstream.once("upgrade", (response: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer) => {
      upstreamSocket.on("error", () => socket.destroy());
      socket.on("close", () => upstreamSocket.destroy());
      upstreamSocket.on("close", () => socket.destroy());
      const received = headerList(response.rawHeaders);
      if (scrubber !== undefined && received.some(([name]) => name === "sec-websocket-extensions")) {
        upstreamSocket.destroy();
        writeRefusal(socket, new ProxyError("upstream", "the upstream accepted a WebSocket extension that was not offered; the sidecar cannot scrub it"));
        return;
      }
      const reason = scrubber?.scrubString(response.statusMessage ?? "") ?? response.statusMessage ?? "Switching Protocols";
      const lines = [`HTTP/1.1 ${response.statusCode ?? 101} ${reason}`];
      for (const [name, value] of endToEndHeaders(received, { upgrade: true })) lines.push(`${name}: ${scrubber?.scrubString(value) ?? value}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstreamSocket.write(head);
      socket.pipe(upstreamSocket);
      if (scrubber === undefined) {
        if (upstreamHead.length > 0) socket.write(upstreamHead);
        upstreamSocket.pipe(socket);
      } else {
        relayServerFrames(upstreamSocket, upstreamHead, socket, new ServerFrameScrubber(scrubber));
      }
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
      // The upstream declined the upgrade: pass its answer back, scrubbed like any response, and close.
      let prepared;
      try {
        prepared = prepareResponse(scrubber, { reason: response.statusMessage ?? "", headers: headerList(response.rawHeaders), hasBody: true, lengthFramed: false, dechunked: true });
      } catch (error) {
        response.destroy();
        writeRefusal(socket, asProxyError(error));
        return;
      }
      const lines = [`HTTP/1.1 ${response.statusCode ?? 502} ${prepared.reason}`];
      for (const [name, value] of prepared.headers.filter(([name]) => name !== "content-length")) lines.push(`${name}: ${value}`);
      lines.push("connection: close");
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      const stages = prepared.body === undefined ? prepared.decoders : [...prepared.decoders, new ScrubTransform(prepared.body)];
      pipeline([response, ...stages, socket], () => socket.destroy());
    });
    upstream.once("error", (error) => writeRefusal(socket, asProxyError(error)));
    upstream.end();
  } catch (error) {
    const failure = asProxyError(error);
    runtime.metrics.refusals.inc({ kind: failure.kind });
    writeRefusal(socket, failure);
  }
}

/**
 * Towards a bound host, only what the sidecar can scrub: a WebSocket without extensions (the
 * offer is taken out of the handshake). Any other protocol would be relayed unread.
 */
function scrubbablePlan(plan: Plan): Plan {
  if (!plan.bound) return plan;
  const upgrade = plan.headers.find(([name]) => name === "upgrade")?.[1].trim().toLowerCase();
  if (upgrade !== "websocket") throw new ProxyError("forbidden", "towards a host with credentials only WebSocket upgrades are relayed (other protocols cannot be scrubbed)");
  const headers: HeaderList = plan.headers.filter(([name]) => name !== "sec-websocket-extensions");
  return { ...plan, headers };
}

/** Server frames, scrubbed, to the client, with backpressure; a protocol error cuts both sides. */
function relayServerFrames(upstream: Duplex, first: Buffer, client: Duplex, frames: ServerFrameScrubber): void {
  const relay = (data: Buffer): void => {
    let out: Buffer;
    try {
      out = frames.push(data);
    } catch {
      upstream.destroy();
      client.destroy();
      return;
    }
    if (out.length > 0 && !client.write(out)) upstream.pause();
  };
  client.on("drain", () => upstream.resume());
  if (first.length > 0) relay(first);
  upstream.on("data", relay);
  upstream.once("end", () => client.end());
}

/**
 * Answers a raw socket (upgrade or CONNECT) with an error status, then closes it. With
 * `phrase`, the reason phrase is the refusal's message (clients of CONNECT often show only the
 * status line, not a body).
 */
export function writeRefusal(socket: Duplex, error: ProxyError, options: { phrase?: boolean } = {}): void {
  if (socket.destroyed) return;
  const status = statusFor(error.kind);
  const body = `agentbox sidecar: ${error.message}\n`;
  const reason = options.phrase === true ? error.message.replace(/[^\x20-\x7e]/g, "?").slice(0, 200) : (REASONS[status] ?? "Error");
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-agentbox-refused: ${error.kind}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  421: "Misdirected Request",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};
