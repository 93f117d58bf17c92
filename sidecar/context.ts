// What the proxy knows about one downstream connection, and what it shares across all of them.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { CertificateAuthority } from "./ca.js";
import type { Destination } from "./destination.js";
import type { PolicyState } from "./state.js";
import type { SidecarMetrics } from "./telemetry.js";
import type { TlsSessionCache } from "./tls-sessions.js";
import type { ResolvedAddress, Resolver } from "./upstream.js";

export interface Limits {
  /** Largest request or response head, in bytes. */
  maxHeaderBytes: number;
  /** Time for a client to send a complete request head. */
  headersTimeoutMs: number;
  /** A connection (either side) silent this long is closed. */
  idleTimeoutMs: number;
  /** Time for a TLS client to send its ClientHello. */
  helloTimeoutMs: number;
  /** Time to establish an upstream TCP connection. */
  connectTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxHeaderBytes: 32 * 1024,
  headersTimeoutMs: 15_000,
  idleTimeoutMs: 10 * 60_000,
  helloTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
};

export interface Runtime {
  state(): PolicyState;
  readonly ca: CertificateAuthority;
  readonly resolver: Resolver;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  readonly limits: Limits;
  readonly upstreamSessions: TlsSessionCache;
}

export interface ConnectionContext {
  /** The downstream leg is TLS that the sidecar terminates (the host carries a credential). */
  readonly tls: boolean;
  /** Plain requests on the explicit proxy port must be absolute-form. */
  readonly explicit: boolean;
  readonly connect?: string | undefined;
  readonly sni?: string | undefined;
  /** For intercepted connections, the destination verified when the connection arrived. */
  readonly destination?: Destination | undefined;
  /** Default upstream port for plain requests without one (transparent HTTP). */
  readonly defaultPort: number;
  /** The one resolution for an intercepted connection's destination, made on first use. */
  resolved?: ResolvedAddress;
  agent?: HttpAgent;
}

const contexts = new WeakMap<Duplex, ConnectionContext>();

export function setContext(socket: Duplex, context: ConnectionContext): void {
  contexts.set(socket, context);
  // Upstream sockets belong to this downstream connection only and die with it.
  socket.once("close", () => context.agent?.destroy());
}

export function getContext(socket: Duplex): ConnectionContext | undefined {
  return contexts.get(socket);
}

/** The keep-alive agent of this downstream connection; never shared with another one. */
export function agentFor(context: ConnectionContext): HttpAgent {
  context.agent ??= context.tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  return context.agent;
}
