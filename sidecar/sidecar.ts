// The running sidecar: its listeners (explicit proxy, transparent TLS, transparent HTTP,
// admin), the shared runtime, and configuration reloads that swap the policy in place without
// touching open connections.
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { CertificateAuthority } from "./ca.js";
import { DEFAULT_LISTEN, type ListenAddress, type SidecarConfig } from "./config.js";
import { DEFAULT_LIMITS, getContext, setContext, type ConnectionContext, type Limits, type Runtime } from "./context.js";
import { parseAuthority } from "./destination.js";
import { notAllowed, ProxyError, statusFor } from "./errors.js";
import { handleRequest, sendError } from "./forward.js";
import { LocalPeers } from "./local-peer.js";
import type { Policy } from "./policy.js";
import type { SecretReader } from "./secrets.js";
import { buildState, unexpired, withRetired, type PolicyState } from "./state.js";
import { audit, createLogger, logRefusal, SidecarMetrics } from "./telemetry.js";
import { TlsSessionCache } from "./tls-sessions.js";
import { handleTlsStream } from "./tls-stream.js";
import { handleUpgrade, writeRefusal } from "./upgrade.js";
import { systemResolver, type Resolver } from "./upstream.js";

export interface SidecarOptions {
  config: SidecarConfig;
  listen?: Partial<Record<"explicit" | "transparentTls" | "transparentHttp" | "admin", ListenAddress | false>>;
  /** Upstream ports for captured traffic (the ports the capture rules redirect). */
  capturedPorts?: { tls: number; http: number };
  resolver?: Resolver;
  secretReader?: SecretReader;
  logger?: Logger;
  limits?: Partial<Limits>;
  /** Why the sidecar is not ready yet although listening (e.g. a Vault credential that does not resolve), or undefined. */
  readiness?: () => string | undefined;
}

type ListenerName = keyof typeof DEFAULT_LISTEN;

/** Listeners that also take IPv6 on ::1, where it is up, when they bind 127.0.0.1: the ip6tables REDIRECT target. */
const IPV6_TOO: ReadonlySet<ListenerName> = new Set(["transparentTls", "transparentHttp"]);
/** Listeners only the pod itself may use. */
const POD_ONLY: ReadonlySet<ListenerName> = new Set(["explicit", "transparentTls", "transparentHttp"]);
/** What the admin port serves to peers outside the pod: the probes, which say nothing more than ready or not. */
const PROBE_PATHS = new Set(["/healthz", "/readyz"]);

export class Sidecar {
  readonly metrics = new SidecarMetrics();
  readonly logger: Logger;
  readonly addresses: Partial<Record<ListenerName, AddressInfo>> = {};
  private readonly peers = new LocalPeers();
  private current: PolicyState;
  private readonly runtime: Runtime;
  private readonly servers: Array<Server | NetServer> = [];
  private readonly sockets = new Set<Duplex>();
  private readonly inner: Server;
  private readonly secretReader: SecretReader | undefined;
  private readonly options: SidecarOptions;
  private ready = false;
  private retirementTimer: NodeJS.Timeout | undefined;

  private constructor(options: SidecarOptions, state: PolicyState, ca: CertificateAuthority, logger: Logger) {
    this.current = state;
    this.logger = logger;
    this.secretReader = options.secretReader;
    this.options = options;
    this.runtime = {
      state: () => this.current,
      ca,
      resolver: options.resolver ?? systemResolver,
      logger,
      metrics: this.metrics,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      upstreamSessions: new TlsSessionCache(),
    };
    this.inner = this.httpServer();
  }

  /** Creates the CA, writes its certificate, reads the secrets and pre-mints bound hosts. */
  static async create(options: SidecarOptions): Promise<Sidecar> {
    const logger = options.logger ?? createLogger();
    const state = await buildState(options.config, { reader: options.secretReader });
    let sidecar: Sidecar | undefined;
    const ca = await CertificateAuthority.create({ onMint: (_host, ms) => sidecar?.metrics.mintSeconds.observe(ms / 1000) });
    sidecar = new Sidecar(options, state, ca, logger);
    await ca.writeCertificate(options.config.caDir);
    await Promise.all(state.policy.boundHostNames().map((host) => ca.contextFor(host)));
    return sidecar;
  }

  get caCertificatePem(): string {
    return this.runtime.ca.certificatePem;
  }

  /** The policy in force now. */
  get policy(): Policy {
    return this.current.policy;
  }

  get isReady(): boolean {
    return this.ready && this.options.readiness?.() === undefined;
  }

  /** Starts every listener not disabled in options.listen. */
  async listen(): Promise<void> {
    const wanted = { ...DEFAULT_LISTEN, ...this.options.listen };
    const capturedPorts = this.options.capturedPorts ?? { tls: 443, http: 80 };
    const make: Record<ListenerName, () => Server | NetServer> = {
      explicit: () => {
        const explicit = this.httpServer({ explicit: true, port: 80 });
        explicit.on("connect", (request: IncomingMessage, socket: Socket, head: Buffer) => this.onConnect(request, socket, head));
        return explicit;
      },
      transparentTls: () =>
        createNetServer({ noDelay: true }, (socket) => {
          if (!socket.destroyed) void handleTlsStream(this.runtime, this.inner, socket, { port: capturedPorts.tls });
        }),
      transparentHttp: () => this.httpServer({ explicit: false, port: capturedPorts.http }),
      admin: () => createHttpServer((request, response) => this.onAdmin(request, response)),
    };
    for (const name of Object.keys(make) as ListenerName[]) {
      const address = wanted[name];
      if (address === false) continue;
      const bound = await this.bind(name, make[name](), address);
      this.addresses[name] = bound;
      // The same port on ::1, so one REDIRECT port number serves both families.
      if (IPV6_TOO.has(name) && address.host === "127.0.0.1") await this.bindIpv6(name, make[name](), bound.port);
    }
    this.ready = true;
  }

  private async bind(name: ListenerName, server: Server | NetServer, address: ListenAddress): Promise<AddressInfo> {
    this.track(server, POD_ONLY.has(name) ? name : undefined);
    server.listen(address.port, address.host);
    await once(server, "listening");
    this.servers.push(server);
    return server.address() as AddressInfo;
  }

  /** Listens on [::1]:port where the namespace has IPv6; without it there is no IPv6 traffic to take. */
  private async bindIpv6(name: ListenerName, server: Server | NetServer, port: number): Promise<void> {
    try {
      await this.bind(name, server, { host: "::1", port });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== "EADDRNOTAVAIL" && code !== "EAFNOSUPPORT") throw error;
      this.logger.info({ listener: name }, "no IPv6 loopback: listening on IPv4 only");
    }
  }

  /** Swaps in a new configuration; open connections keep flowing and see it on their next request. */
  async reload(config: SidecarConfig): Promise<void> {
    try {
      const state = await buildState(config, { reader: this.secretReader, previous: this.current });
      await Promise.all(state.policy.boundHostNames().map((host) => this.runtime.ca.contextFor(host)));
      this.current = state;
      this.scheduleRetirement();
      this.metrics.reloads.inc({ result: "ok" });
      this.logger.info({ credentials: state.policy.credentials.map((credential) => credential.name) }, "configuration reloaded");
    } catch (error) {
      this.metrics.reloads.inc({ result: "error" });
      throw error;
    }
  }

  /** Stops scrubbing retired values once the earliest of them expires (no secret is re-read). */
  private scheduleRetirement(): void {
    clearTimeout(this.retirementTimer);
    const { retired } = this.current;
    if (retired.length === 0) return;
    const next = Math.min(...retired.map((value) => value.until));
    this.retirementTimer = setTimeout(() => {
      this.current = withRetired(this.current, unexpired(this.current.retired, Date.now()));
      this.scheduleRetirement();
    }, Math.max(0, next - Date.now()) + 1);
    this.retirementTimer.unref();
  }

  async close(): Promise<void> {
    this.ready = false;
    clearTimeout(this.retirementTimer);
    for (const server of this.servers) server.close();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((server) => (server.listening ? once(server, "close") : Promise.resolve())));
  }

  /** Counts connections; on a pod-only listener, closes those from outside the pod at once. */
  private track(server: Server | NetServer, podOnly?: ListenerName): void {
    server.on("connection", (socket: Socket) => {
      if (podOnly !== undefined && !this.peers.isLocal(socket.remoteAddress)) {
        this.metrics.refusals.inc({ kind: "forbidden" });
        this.logger.info({ listener: podOnly, peer: socket.remoteAddress }, "connection refused: the peer is outside the pod");
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      this.metrics.connections.inc({});
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.metrics.connections.dec({});
      });
    });
  }

  /** An HTTP server for one kind of downstream connection (or, without `plain`, the inner one for intercepted TLS). */
  private httpServer(plain?: { explicit: boolean; port: number }): Server {
    const { limits } = this.runtime;
    const server = createHttpServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: 0, // uploads and streams may be long; idleness is bounded instead
      keepAliveTimeout: 5_000,
      noDelay: true,
      requireHostHeader: false, // absent Host is refused with a clearer message by the pipeline
    });
    server.timeout = limits.idleTimeoutMs;
    if (plain !== undefined) {
      server.on("connection", (socket: Socket) => {
        setContext(socket, { tls: false, explicit: plain.explicit, defaultPort: plain.port });
      });
    }
    const contextOf = (socket: Duplex): ConnectionContext => getContext(socket) ?? { tls: false, explicit: true, defaultPort: 80 };
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      void handleRequest(this.runtime, contextOf(request.socket), request, response);
    });
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void handleUpgrade(this.runtime, contextOf(request.socket), request, socket, head);
    });
    server.on("clientError", (error: Error & { code?: string }, socket: Duplex) => this.onClientError(error, socket));
    return server;
  }

  private onClientError(error: Error & { code?: string }, socket: Duplex): void {
    this.metrics.refusals.inc({ kind: "bad-request" });
    if (!socket.writable || (socket as Socket).bytesWritten > 0) {
      socket.destroy();
      return;
    }
    if (error.code === "HPE_HEADER_OVERFLOW") {
      socket.end("HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    } else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      socket.end("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    } else {
      const failure = new ProxyError("bad-request", "the request is malformed or ambiguously framed");
      logRefusal(this.logger, failure, "-");
      writeRefusal(socket, failure);
    }
  }

  private onConnect(request: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const target = request.url ?? "";
    const authority = parseAuthority(target);
    if (authority?.port === undefined) {
      const failure = new ProxyError("bad-request", "CONNECT needs a host:port target");
      this.metrics.refusals.inc({ kind: failure.kind });
      logRefusal(this.logger, failure, "-");
      writeRefusal(socket, failure, { phrase: true });
      return;
    }
    if (!this.current.policy.isAllowed(authority.host)) {
      const failure = notAllowed(authority.host);
      this.metrics.refusals.inc({ kind: failure.kind });
      audit(this.logger, { event: "refused", credentials: [], host: authority.host, method: "CONNECT", path: "-", status: statusFor(failure.kind), bytesIn: 0, bytesOut: 0, durationMs: 0, reason: failure.message });
      writeRefusal(socket, failure, { phrase: true });
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) socket.unshift(head);
    void handleTlsStream(this.runtime, this.inner, socket, { connect: target, port: authority.port });
  }

  /**
   * Probes for everyone (the kubelet probes from the node); credential names, readiness
   * details (Vault errors) and metrics only for the pod itself.
   */
  private onAdmin(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "").split("?")[0] ?? "";
    const local = this.peers.isLocal(request.socket.remoteAddress);
    if (!local && !PROBE_PATHS.has(path)) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    } else if (request.method !== "GET") {
      response.writeHead(405, { allow: "GET" }).end();
    } else if (path === "/healthz") {
      response.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const waiting = this.ready ? this.options.readiness?.() : undefined;
      const ready = this.ready && waiting === undefined;
      const details = local && waiting !== undefined ? `:\n${waiting}` : "";
      response.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : `not ready${details}\n`);
    } else if (path === "/metrics") {
      this.metrics.render().then(
        (text) => response.writeHead(200, { "content-type": SidecarMetrics.contentType }).end(text),
        () => sendError(response, new ProxyError("upstream", "metrics unavailable")),
      );
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz, /readyz or /metrics\n");
    }
  }
}
