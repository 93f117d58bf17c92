// The intercepted keep-alive path (ADR 0002): requests on a TLS connection the sidecar
// terminates are read, planned, sent upstream and relayed back with the sidecar's own HTTP/1.1
// framing (http1.ts) rather than Node's http server, ClientRequest and agent, which cost most
// of the sidecar's CPU per request. The checks are the same ones (forward.ts's planRequest); a
// request outside the plain subset, or one the plan refuses, hands the connection to Node's
// http server, which serves it from then on and answers exactly as before.
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { checkServerIdentity, connect as tlsConnect, type SecureContext, type TLSSocket } from "node:tls";
import type { ConnectionContext, Runtime } from "./context.js";
import { asProxyError, ProxyError, statusFor } from "./errors.js";
import { pathOnly, planRequest, resolveFor, type Plan } from "./forward.js";
import { chunk, ChunkedDecoder, LAST_CHUNK, parseResponseHead, parseSimpleRequest, responseFraming, reusable, serializeHead, type BodyFraming, type ResponseHead, type SimpleRequest } from "./http1.js";
import { chain, prepareResponse } from "./response-scrub.js";
import { StreamReplacer } from "./scrub.js";
import type { ScrubStream } from "./secret-scrubber.js";
import { audit, logRefusal } from "./telemetry.js";
import { writeRefusal } from "./upgrade.js";
import { resolveAllowed, type ResolvedAddress } from "./upstream.js";

const HEAD_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);

/** Gives the connection, and the bytes read but not yet served, to Node's http server. */
export type HandOff = (socket: TLSSocket, buffered: Buffer) => void;

/** Serves an intercepted TLS connection until it closes or is handed off. */
export function serveIntercepted(runtime: Runtime, socket: TLSSocket, context: ConnectionContext, handOff: HandOff): void {
  new InterceptedConnection(runtime, socket, context, handOff).start();
}

class InterceptedConnection {
  private buffer: Buffer = EMPTY;
  private exchange: Exchange | undefined;
  /** The upstream connection of this downstream connection, never shared with another. */
  private link: UpstreamLink | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  /** The socket is being ended: bytes still arriving start nothing. */
  private closing = false;
  private readonly onData = (data: Buffer): void => this.receive(data);
  private readonly onClose = (): void => {
    clearTimeout(this.headTimer);
    this.exchange?.abort();
    this.link?.destroy();
  };

  constructor(
    readonly runtime: Runtime,
    readonly socket: TLSSocket,
    private readonly context: ConnectionContext,
    private readonly handOff: HandOff,
  ) {}

  start(): void {
    this.socket.setTimeout(this.runtime.limits.idleTimeoutMs, () => this.socket.destroy());
    this.socket.on("data", this.onData);
    this.socket.once("close", this.onClose);
    this.preconnect();
  }

  /**
   * Resolves and dials the verified destination while the client is still in its handshake,
   * so a new connection's first request does not wait for a second handshake. Failures are
   * left to the first request, whose own resolution reports them.
   */
  private preconnect(): void {
    const destination = this.context.destination;
    if (destination === undefined) return;
    const state = this.runtime.state();
    resolveAllowed(destination.host, this.runtime.resolver, state.policy.allowedAddresses).then(
      (resolved) => {
        this.context.resolved ??= resolved;
        if (this.link === undefined && this.exchange === undefined && !this.socket.destroyed) {
          this.dial({ host: destination.host, port: destination.port, roots: state.upstreamRoots?.context }, this.context.resolved);
        }
      },
      () => undefined,
    );
  }

  private receive(data: Buffer): void {
    if (this.closing) return;
    const exchange = this.exchange;
    let rest = data;
    if (exchange !== undefined && exchange.bodyRemaining > 0) {
      const take = Math.min(exchange.bodyRemaining, rest.length);
      exchange.sendBody(take === rest.length ? rest : rest.subarray(0, take));
      if (take === rest.length) return;
      rest = rest.subarray(take);
    }
    this.buffer = this.buffer.length === 0 ? rest : Buffer.concat([this.buffer, rest]);
    if (this.exchange === undefined) this.next();
    // A pipelined request waits for the one in flight; what waits is bounded.
    else if (this.buffer.length > this.runtime.limits.maxHeaderBytes) this.socket.pause();
  }

  /** Starts the next buffered request, if its head is complete. */
  private next(): void {
    if (this.buffer.length === 0) return;
    const { limits } = this.runtime;
    const end = this.buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (this.buffer.length > limits.maxHeaderBytes) this.giveUp();
      else this.headTimer ??= setTimeout(() => this.socket.destroy(), limits.headersTimeoutMs);
      return;
    }
    clearTimeout(this.headTimer);
    this.headTimer = undefined;
    const request = end + 4 <= limits.maxHeaderBytes ? parseSimpleRequest(this.buffer.toString("latin1", 0, end)) : undefined;
    if (request === undefined) {
      this.giveUp();
      return;
    }
    let plan: Plan;
    let exchange: Exchange;
    try {
      plan = planRequest(this.runtime, this.context, { url: request.target, headers: request.headers }, false);
      exchange = new Exchange(this, request, plan);
    } catch {
      // Node's path plans it again and refuses it with its status, audit record and metrics.
      this.giveUp();
      return;
    }
    this.buffer = this.buffer.subarray(end + 4);
    this.exchange = exchange;
    if (request.contentLength > 0 && this.buffer.length > 0) {
      const take = Math.min(request.contentLength, this.buffer.length);
      exchange.sendBody(this.buffer.subarray(0, take));
      this.buffer = this.buffer.subarray(take);
    }
    const resolved = this.context.resolved;
    if (resolved !== undefined) {
      this.startOn(exchange, resolved);
      return;
    }
    resolveFor(this.runtime, this.context, plan).then(
      (address) => {
        if (this.exchange === exchange) this.startOn(exchange, address);
      },
      (error: unknown) => exchange.fail(error),
    );
  }

  private giveUp(): void {
    clearTimeout(this.headTimer);
    this.socket.off("data", this.onData);
    this.socket.off("close", this.onClose);
    this.socket.setTimeout(0);
    this.link?.destroy();
    this.link = undefined;
    const buffered = this.buffer;
    this.buffer = EMPTY;
    this.handOff(this.socket, buffered);
  }

  /** Sends the exchange on the idle upstream connection when it fits, else on a new one. */
  private startOn(exchange: Exchange, resolved: ResolvedAddress): void {
    const target = targetOf(exchange.plan);
    if (this.link?.fits(target, resolved) === true) {
      // Only a connection that was up and idle can have been closed by the upstream's idle timeout.
      exchange.start(this.link, { reused: this.link.established });
      return;
    }
    this.link?.destroy();
    exchange.start(this.dial(target, resolved), { reused: false });
  }

  /**
   * A kept-alive upstream connection closed under a request before any answer (the upstream's
   * idle timeout raced it): the request, which had no body, goes once more on a new connection.
   */
  redial(exchange: Exchange, resolved: ResolvedAddress): void {
    exchange.link?.destroy();
    exchange.start(this.dial(targetOf(exchange.plan), resolved), { reused: false });
  }

  private dial(target: LinkTarget, resolved: ResolvedAddress): UpstreamLink {
    const link = new UpstreamLink(this.runtime, target, resolved, () => {
      if (this.link === link) this.link = undefined;
    });
    this.link = link;
    return link;
  }

  /** The exchange in flight ended cleanly; serve the next request or close. */
  done(exchange: Exchange, keepLink: boolean): void {
    this.exchange = undefined;
    if (!keepLink) {
      exchange.link?.destroy();
      if (this.link === exchange.link) this.link = undefined;
    }
    // A body the upstream did not wait for leaves the stream at an unknown place: close.
    if (exchange.bodyRemaining > 0 || exchange.request.close) {
      this.closing = true;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  /** The exchange in flight failed and has answered or closed the socket. */
  failed(): void {
    this.closing = true;
    this.exchange = undefined;
    this.link?.destroy();
    this.link = undefined;
  }
}

/** Where an upstream connection goes and which roots verify it. */
interface LinkTarget {
  host: string;
  port: number;
  roots: SecureContext | undefined;
}

function targetOf(plan: Plan): LinkTarget {
  return { host: plan.destination.host, port: plan.destination.port, roots: plan.state.upstreamRoots?.context };
}

/** One upstream TLS connection: dialled on the checked address, verified against the destination name. */
class UpstreamLink {
  readonly socket: TLSSocket;
  exchange: Exchange | undefined;
  /** The TLS handshake completed. */
  established = false;
  private readonly host: string;
  private readonly port: number;
  readonly resolved: ResolvedAddress;
  private readonly roots: SecureContext | undefined;

  constructor(runtime: Runtime, target: LinkTarget, resolved: ResolvedAddress, onClose: () => void) {
    const { host, port, roots } = target;
    this.host = host;
    this.port = port;
    this.resolved = resolved;
    this.roots = roots;
    const key = `${host}:${port}`;
    this.socket = tlsConnect({
      host: resolved.address,
      port,
      servername: isIP(host) === 0 ? host : undefined,
      secureContext: this.roots,
      rejectUnauthorized: true,
      ALPNProtocols: ["http/1.1"],
      session: runtime.upstreamSessions.get(this.roots, key),
      // The certificate must name the verified destination, not the address dialled.
      checkServerIdentity: (_name, certificate) => checkServerIdentity(host, certificate),
    });
    runtime.upstreamSessions.watch(this.socket, this.roots, key);
    this.socket.setNoDelay(true);
    this.socket.setTimeout(runtime.limits.connectTimeoutMs, () => this.socket.destroy(new ProxyError("timeout", `connecting to ${host} timed out`)));
    this.socket.once("secureConnect", () => {
      this.established = true;
      this.socket.setTimeout(runtime.limits.idleTimeoutMs, () => this.socket.destroy(new ProxyError("timeout", `${host} went silent`)));
    });
    this.socket.on("data", (data: Buffer) => {
      if (this.exchange === undefined) this.socket.destroy(); // an answer nobody asked for
      else this.exchange.upstreamData(data);
    });
    this.socket.on("error", (error) => this.exchange?.upstreamFailed(error));
    this.socket.once("close", () => {
      onClose();
      this.exchange?.upstreamClosed();
    });
  }

  /** True when this idle connection can carry a request to this target. */
  fits(target: LinkTarget, resolved: ResolvedAddress): boolean {
    return this.exchange === undefined && !this.socket.destroyed && this.socket.writable && this.host === target.host && this.port === target.port && this.resolved.address === resolved.address && this.roots === target.roots;
  }

  destroy(): void {
    this.exchange = undefined;
    this.socket.destroy();
  }
}

/** One request and its response. */
class Exchange {
  link: UpstreamLink | undefined;
  bodyRemaining: number;
  private readonly started = performance.now();
  private readonly pending: Buffer[] = [];
  private readonly bodyReplacer: StreamReplacer | undefined;
  private readonly chunkedUp: boolean;
  private bytesIn = 0;
  private bytesOut = 0;
  private finished = false;
  private bodyDrainWait = false;
  /** The whole request when it has no body: what a retry on a new connection sends. */
  private readonly replay: Buffer | undefined;
  private reusedLink = false;
  private retried = false;
  // Response side.
  private headBuffer: Buffer = EMPTY;
  private head: ResponseHead | undefined;
  private framing: BodyFraming = { kind: "none" };
  private lengthLeft = 0;
  private chunks: ChunkedDecoder | undefined;
  /** The framing said the body is complete (a decoder may still be draining it). */
  private bodyReceived = false;
  /** The chain undoing the body's codings, when it carries any. */
  private decoder: { input: Duplex; output: Duplex; destroy(): void } | undefined;
  private scrubber: ScrubStream | undefined;
  private chunkedDown = false;
  private keepLink = true;
  private out: Buffer[] = [];
  /** Some of the response went to the client: a failure can only cut the connection now. */
  private answered = false;
  private waitingForDrain = false;

  constructor(private readonly connection: InterceptedConnection, readonly request: SimpleRequest, readonly plan: Plan) {
    this.bodyRemaining = request.contentLength;
    this.bodyReplacer = plan.bodyReplacements.length > 0 ? new StreamReplacer(plan.bodyReplacements) : undefined;
    this.chunkedUp = plan.headers.some(([name]) => name === "transfer-encoding");
    const head = Buffer.from(serializeHead(`${request.method} ${plan.path} HTTP/1.1`, plan.headers), "latin1");
    this.pending.push(head);
    if (this.bodyRemaining === 0) this.replay = this.chunkedUp ? Buffer.concat([head, LAST_CHUNK]) : head;
    if (this.bodyRemaining === 0 && this.chunkedUp) this.pending.push(LAST_CHUNK);
  }

  /** Sends the head and whatever body arrived so far, in one write. */
  start(link: UpstreamLink, options: { reused: boolean }): void {
    if (this.finished) return;
    this.link = link;
    this.reusedLink = options.reused;
    link.exchange = this;
    if (this.retried && this.replay !== undefined) {
      link.socket.write(this.replay);
      return;
    }
    const parts = this.pending.splice(0);
    link.socket.write(parts.length === 1 ? (parts[0] ?? EMPTY) : Buffer.concat(parts));
  }

  /** True when it went again on a new connection (see InterceptedConnection.redial). */
  private retry(): boolean {
    const link = this.link;
    if (this.retried || !this.reusedLink || this.replay === undefined || link === undefined || this.head !== undefined || this.headBuffer.length > 0) return false;
    this.retried = true;
    this.connection.redial(this, link.resolved);
    return true;
  }

  upstreamFailed(error: unknown): void {
    if (this.finished || this.retry()) return;
    this.fail(error);
  }

  sendBody(data: Buffer): void {
    this.bodyRemaining -= data.length;
    this.bytesIn += data.length;
    const parts: Buffer[] = [];
    const out = this.bodyReplacer === undefined ? data : this.bodyReplacer.push(data);
    if (out.length > 0) parts.push(...(this.chunkedUp ? chunk(out) : [out]));
    if (this.bodyRemaining === 0) {
      const rest = this.bodyReplacer?.end() ?? EMPTY;
      if (rest.length > 0) parts.push(...(this.chunkedUp ? chunk(rest) : [rest]));
      if (this.chunkedUp) parts.push(LAST_CHUNK);
    }
    if (this.link === undefined) {
      this.pending.push(...parts);
      return;
    }
    const { socket } = this.connection;
    if (parts.length > 0 && !this.link.socket.write(parts.length === 1 ? (parts[0] ?? EMPTY) : Buffer.concat(parts)) && !this.bodyDrainWait) {
      this.bodyDrainWait = true;
      socket.pause();
      this.link.socket.once("drain", () => {
        this.bodyDrainWait = false;
        socket.resume();
      });
    }
  }

  upstreamData(data: Buffer): void {
    if (this.finished) return;
    try {
      this.readResponse(data);
    } catch (error) {
      this.fail(error);
    }
  }

  upstreamClosed(): void {
    if (this.finished || this.retry()) return;
    // The whole body is in and the decoders are still draining (their end comes a tick later):
    // the response is complete, only the link cannot be kept.
    if (this.bodyReceived) {
      this.keepLink = false;
      return;
    }
    if (this.head !== undefined && this.framing.kind === "close") {
      this.bodyDone();
      return;
    }
    this.fail(new ProxyError("upstream", `${this.plan.destination.host} closed the connection before its response was complete`));
  }

  private readResponse(data: Buffer): void {
    let body = data;
    if (this.head === undefined) {
      const head = this.readHead(data);
      if (head === undefined) return;
      body = head;
    }
    const framing = this.framing;
    if (framing.kind === "none") {
      if (body.length > 0) this.keepLink = false;
    } else if (framing.kind === "length") {
      const take = Math.min(this.lengthLeft, body.length);
      if (take < body.length) this.keepLink = false; // bytes beyond the response: the stream is off
      this.lengthLeft -= take;
      if (take > 0) this.bodyPiece(take === body.length ? body : body.subarray(0, take));
    } else if (framing.kind === "chunked") {
      const decoder = (this.chunks ??= new ChunkedDecoder());
      const used = decoder.push(body, (piece) => this.bodyPiece(piece));
      if (used < body.length) this.keepLink = false;
    } else if (body.length > 0) {
      this.bodyPiece(body);
    }
    const complete = framing.kind === "none" || (framing.kind === "length" && this.lengthLeft === 0) || (framing.kind === "chunked" && this.chunks?.done === true);
    if (complete) this.bodyDone();
    else this.flush();
  }

  /** Collects the response head; returns the bytes after it once it is complete. */
  private readHead(data: Buffer): Buffer | undefined {
    const limit = this.connection.runtime.limits.maxHeaderBytes;
    let buffer = this.headBuffer.length === 0 ? data : Buffer.concat([this.headBuffer, data]);
    for (;;) {
      const end = buffer.indexOf(HEAD_END);
      if (end < 0 || end > limit) {
        if (buffer.length > limit) throw new ProxyError("upstream", `${this.plan.destination.host} sent a response head over ${limit} bytes`);
        this.headBuffer = buffer;
        return undefined;
      }
      const head = parseResponseHead(buffer.toString("latin1", 0, end));
      buffer = buffer.subarray(end + 4);
      if (head.status === 101) throw new ProxyError("upstream", `${this.plan.destination.host} switched protocols without being asked to`);
      // Interim responses (103 Early Hints, a stray 100) are dropped, as Node's client does.
      if (head.status >= 200) {
        this.headBuffer = EMPTY;
        this.respond(head);
        return buffer;
      }
    }
  }

  private respond(head: ResponseHead): void {
    const { plan } = this;
    const framing = responseFraming(this.request.method, head);
    this.head = head;
    this.framing = framing;
    this.lengthLeft = framing.kind === "length" ? framing.length : 0;
    this.keepLink = reusable(head, framing);
    const hasBody = framing.kind !== "none";
    // Reason phrase, headers and body of a bound host's answer are scrubbed, its codings decoded first.
    const prepared = prepareResponse(plan.bound ? plan.state.scrubber : undefined, {
      reason: head.reason,
      headers: head.headers,
      hasBody,
      lengthFramed: framing.kind === "length",
      dechunked: framing.kind === "chunked",
    });
    const headers = prepared.headers;
    if (prepared.decoders.length > 0) this.decoder = this.decoding(prepared.decoders);
    this.scrubber = prepared.body;
    if (hasBody && !prepared.keepLength) {
      headers.push(["transfer-encoding", "chunked"]);
      this.chunkedDown = true;
    }
    this.out.push(Buffer.from(serializeHead(`HTTP/1.1 ${head.status} ${prepared.reason}`, headers), "latin1"));
  }

  /** Coded responses (rare: bound hosts are asked for identity) are decoded before scrubbing. */
  private decoding(decoders: Duplex[]): { input: Duplex; output: Duplex; destroy(): void } {
    const decoder = chain(decoders, (error) => this.fail(new ProxyError("upstream", "the upstream's coded body does not decode", { cause: error })));
    decoder.output.on("data", (data: Buffer) => {
      this.emitDown(data);
      this.flush();
    });
    decoder.output.once("end", () => this.complete());
    return decoder;
  }

  private bodyPiece(piece: Buffer): void {
    this.bytesOut += piece.length;
    if (this.decoder !== undefined) this.decoder.input.write(piece);
    else this.emitDown(piece);
  }

  private emitDown(data: Buffer): void {
    const out = this.scrubber === undefined ? data : this.scrubber.push(data);
    if (out.length === 0) return;
    if (this.chunkedDown) this.out.push(...chunk(out));
    else this.out.push(out);
  }

  private bodyDone(): void {
    this.bodyReceived = true;
    if (this.decoder !== undefined) this.decoder.input.end();
    else this.complete();
  }

  private complete(): void {
    if (this.finished) return;
    const rest = this.scrubber?.end() ?? EMPTY;
    if (rest.length > 0) this.out.push(...(this.chunkedDown ? chunk(rest) : [rest]));
    if (this.chunkedDown) this.out.push(LAST_CHUNK);
    this.flush();
    this.finished = true;
    if (this.link !== undefined) this.link.exchange = undefined;
    this.record();
    this.connection.done(this, this.keepLink && this.bodyRemaining === 0);
  }

  /** Writes what the response produced so far to the client in one write. */
  private flush(): void {
    if (this.out.length === 0) return;
    const parts = this.out;
    this.out = [];
    this.answered = true;
    const { socket } = this.connection;
    const ok = socket.write(parts.length === 1 ? (parts[0] ?? EMPTY) : Buffer.concat(parts));
    const link = this.link;
    if (!ok && link !== undefined && !this.waitingForDrain) {
      this.waitingForDrain = true;
      link.socket.pause();
      // A decoder keeps producing from what it already holds (a small body can inflate to a lot).
      const decoded = this.decoder?.output;
      decoded?.pause();
      socket.once("drain", () => {
        this.waitingForDrain = false;
        link.socket.resume();
        decoded?.resume();
      });
    }
  }

  private record(): void {
    const { runtime } = this.connection;
    const { plan } = this;
    const status = this.head?.status ?? 0;
    runtime.metrics.requests.inc({ mode: "intercepted", status: `${Math.floor(status / 100)}xx` });
    if (plan.used.length === 0) return;
    for (const name of plan.used) runtime.metrics.swaps.inc({ credential: name });
    audit(runtime.logger, {
      event: "request",
      credentials: plan.used,
      host: plan.destination.host,
      method: this.request.method,
      path: pathOnly(plan.path),
      status,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: Math.round((performance.now() - this.started) * 1000) / 1000,
    });
  }

  /** Answers with the failure when nothing was sent yet, else cuts the connection. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const failure = asProxyError(error);
    const { runtime, socket } = this.connection;
    runtime.metrics.refusals.inc({ kind: failure.kind });
    logRefusal(runtime.logger, failure, this.plan.destination.host);
    if (failure.kind === "forbidden" || failure.kind === "misdirected") {
      audit(runtime.logger, {
        event: "refused",
        credentials: this.plan.used,
        host: this.plan.destination.host,
        method: this.request.method,
        path: pathOnly(this.plan.path),
        status: statusFor(failure.kind),
        bytesIn: this.bytesIn,
        bytesOut: 0,
        durationMs: performance.now() - this.started,
        reason: failure.message,
      });
    }
    this.link?.destroy();
    this.decoder?.destroy();
    this.connection.failed();
    if (this.answered) socket.destroy();
    else writeRefusal(socket, failure);
  }

  /** The client went away. */
  abort(): void {
    this.finished = true;
    this.decoder?.destroy();
    this.link?.destroy();
  }
}
