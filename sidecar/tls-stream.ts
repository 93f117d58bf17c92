// A TLS byte stream whose destination is known (CONNECT) or is to be read from its SNI
// (transparent capture). Hosts that carry a credential are intercepted with a minted leaf and
// fed into the same request pipeline; other allowed hosts are tunnelled without interception.
import type { Server } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { MAX_CLIENT_HELLO, parseClientHello, type ClientHelloResult } from "./client-hello.js";
import { setContext, type ConnectionContext, type Runtime } from "./context.js";
import { verifyDestination, type Destination } from "./destination.js";
import { asProxyError, notAllowed, ProxyError } from "./errors.js";
import { serveIntercepted } from "./intercepted.js";
import { audit, logRefusal } from "./telemetry.js";
import { resolveAllowed } from "./upstream.js";

export interface TlsStreamClaims {
  /** The CONNECT target, when the stream came through the explicit proxy. */
  connect?: string;
  /** The upstream port when only the SNI names the destination (transparent capture). */
  port: number;
}

interface Peeked {
  hello: ClientHelloResult | { kind: "closed" | "timeout" };
  bytes: Buffer;
}

/** Reads until the ClientHello is complete (or clearly absent) without losing any byte. */
export function peekClientHello(socket: Duplex, timeoutMs: number): Promise<Peeked> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (hello: Peeked["hello"]): void => {
      clearTimeout(timer);
      socket.pause();
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      resolve({ hello, bytes: Buffer.concat(chunks) });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      const result = parseClientHello(Buffer.concat(chunks));
      if (result.kind !== "incomplete") finish(result);
      else if (length > MAX_CLIENT_HELLO + 5 * 4) finish({ kind: "not-tls" });
    };
    const onEnd = (): void => finish({ kind: "closed" });
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.resume();
  });
}

/** Handles a stream that speaks TLS to a destination; never throws. */
export async function handleTlsStream(runtime: Runtime, inner: Server, socket: Socket, claims: TlsStreamClaims): Promise<void> {
  socket.on("error", () => socket.destroy());
  let host = "-";
  let upstream: Socket | undefined;
  try {
    const connectTarget = claims.connect === undefined ? undefined : verifyDestination({ connect: claims.connect, defaultPort: claims.port });
    // An unbound CONNECT target is dialled before the client speaks: protocols where the
    // server speaks first (SSH through the explicit proxy) must not wait for a ClientHello.
    if (connectTarget !== undefined && !runtime.state().policy.intercepts(connectTarget.host)) {
      host = connectTarget.host;
      upstream = await openTunnel(runtime, socket, connectTarget);
    }
    const peeked = await peekClientHello(socket, upstream === undefined ? runtime.limits.helloTimeoutMs : runtime.limits.idleTimeoutMs);
    if (peeked.hello.kind === "closed") {
      upstream?.destroy();
      return;
    }
    if (peeked.hello.kind === "timeout") throw new ProxyError("timeout", "the client sent no TLS ClientHello in time");
    const sni = peeked.hello.kind === "hello" ? peeked.hello.sni : undefined;
    if (claims.connect === undefined && sni === undefined) throw new ProxyError("bad-request", "a captured TLS connection must name its server (SNI)");
    const destination = verifyDestination({
      connect: claims.connect,
      sni,
      // Transparent capture: the SNI is the only name; give it the captured port.
      host: claims.connect === undefined ? `${sni ?? ""}:${claims.port}` : undefined,
      defaultPort: claims.port,
    });
    host = destination.host;
    const { policy } = runtime.state();
    if (!policy.isAllowed(destination.host)) throw notAllowed(destination.host);
    if (upstream === undefined && policy.intercepts(destination.host)) {
      if (peeked.hello.kind !== "hello") throw new ProxyError("bad-request", `${destination.host} carries a credential and is reached over TLS only`);
      await intercept(runtime, inner, socket, { destination, connect: claims.connect, sni, bytes: peeked.bytes });
      return;
    }
    upstream ??= await openTunnel(runtime, socket, destination);
    joinTunnel(socket, upstream, peeked.bytes);
  } catch (error) {
    upstream?.destroy();
    const failure = asProxyError(error);
    runtime.metrics.refusals.inc({ kind: failure.kind });
    if (failure.kind === "forbidden" || failure.kind === "misdirected") {
      audit(runtime.logger, { event: "refused", credentials: [], host, method: "CONNECT", path: "-", status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0, reason: failure.message });
    }
    logRefusal(runtime.logger, failure, host);
    // The client is mid-TLS: there is no way to send it a readable status, only to close.
    socket.destroy();
  }
}

interface InterceptOptions {
  destination: Destination;
  connect: string | undefined;
  sni: string | undefined;
  bytes: Buffer;
}

async function intercept(runtime: Runtime, inner: Server, socket: Socket, options: InterceptOptions): Promise<void> {
  const secureContext = await runtime.ca.contextFor(options.destination.host);
  socket.unshift(options.bytes);
  const tls = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ["http/1.1"] });
  tls.on("error", () => tls.destroy());
  tls.on("close", () => socket.destroy());
  const context: ConnectionContext = {
    tls: true,
    explicit: false,
    connect: options.connect,
    sni: options.sni,
    destination: options.destination,
    defaultPort: options.destination.port,
  };
  setContext(tls, context);
  serveIntercepted(runtime, tls, context, (socket, buffered) => {
    inner.emit("connection", socket);
    // Node's parser reads these first: the server's data handler feeds its parser.
    if (buffered.length > 0) socket.emit("data", buffered);
  });
}

/** Dials the checked address and starts passing the upstream's bytes to the client. */
async function openTunnel(runtime: Runtime, socket: Socket, destination: Destination): Promise<Socket> {
  const resolved = await resolveAllowed(destination.host, runtime.resolver, runtime.state().policy.allowedAddresses);
  const upstream = netConnect({ host: resolved.address, port: destination.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => upstream.destroy(new ProxyError("timeout", `connecting to ${destination.host} timed out`)), runtime.limits.connectTimeoutMs);
    upstream.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    upstream.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  runtime.metrics.requests.inc({ mode: "tunnel", status: "-" });
  upstream.on("error", () => socket.destroy());
  upstream.setTimeout(runtime.limits.idleTimeoutMs, () => upstream.destroy());
  socket.setTimeout(runtime.limits.idleTimeoutMs, () => socket.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
  upstream.pipe(socket);
  return upstream;
}

/** Sends the client's already-read bytes on and joins the client's side of the tunnel. */
function joinTunnel(socket: Socket, upstream: Socket, first: Buffer): void {
  if (first.length > 0) upstream.write(first);
  socket.pipe(upstream);
  socket.resume();
}
