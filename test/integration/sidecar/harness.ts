// Real parts on loopback for the sidecar's integration tests: a TLS upstream with a test CA,
// the real sidecar, and clients that reach it through CONNECT, absolute-form or capture ports.
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import { WebSocketServer } from "ws";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import type { SidecarConfigInput } from "../../../sidecar/config.js";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { Sidecar } from "../../../sidecar/sidecar.js";
import { createLogger } from "../../../sidecar/telemetry.js";
import type { Resolver } from "../../../sidecar/upstream.js";

export const SECRET = 'sk-ant-api03-REAL/secret+value="x"&0123456789abcdefghijkl';
export const STUB = "sk-ant-api03-" + "stubstubstubstubstubstub0123456789abcdefghijk";
export const GH_SECRET = "ghp_" + "REALrealREALrealREALrealREALreal0000";
export const GH_STUB = "ghp_" + "stubSTUBstubSTUBstubSTUBstubSTUB1111";

/** Maps the test's names to loopback: the one explicit seam for DNS in these tests. */
export const testResolver: Resolver = async (host) => {
  if (host.endsWith(".example.test")) return [{ address: "127.0.0.1", family: 4 }];
  throw Object.assign(new Error(`test resolver: ${host} is unknown`), { code: "ENOTFOUND" });
};

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Upstream {
  port: number;
  server: HttpsServer;
  seen: SeenRequest[];
  caFile: string;
  /** Resolves the held-back part of /sse. */
  releaseSse: () => void;
  close(): Promise<void>;
}

/** An HTTPS upstream for every *.example.test name, with endpoints that exercise the proxy. */
export async function startUpstream(): Promise<Upstream> {
  const ca = await CertificateAuthority.create();
  const dir = await mkdtemp(join(tmpdir(), "sidecar-upstream-"));
  const caFile = join(dir, "upstream-ca.crt");
  await writeFile(caFile, ca.certificatePem);
  const seen: SeenRequest[] = [];
  let release: () => void = () => {};
  let held = new Promise<void>((resolve) => (release = resolve));
  const server = createHttpsServer({
    SNICallback: (name, callback) => {
      ca.mintLeaf(name).then(
        (leaf) => callback(null, createSecureContext({ key: leaf.keyPem, cert: leaf.certificatePem })),
        (error: Error) => callback(error),
      );
    },
  });
  server.on("request", (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("latin1");
      seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
      route(request, response, body, port, () => held, seen[0]);
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket, request) => {
    seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: "" });
    socket.on("error", () => socket.terminate());
    socket.send(JSON.stringify({ authorization: request.headers.authorization ?? null }));
    socket.on("message", (data) => socket.send(`echo:${String(data)}`));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    port,
    server,
    seen,
    caFile,
    releaseSse: () => {
      release();
      held = new Promise<void>((resolve) => (release = resolve));
    },
    close: async () => {
      wss.close();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

function route(request: IncomingMessage, response: import("node:http").ServerResponse, body: string, port: number, held: () => Promise<void>, first: SeenRequest | undefined): void {
  const url = new URL(request.url ?? "/", "https://x");
  // /cached answers with the credential of the first request ever seen, like a stale cache.
  const source = url.pathname === "/cached" ? (first?.headers ?? {}) : request.headers;
  const auth = source["x-api-key"] ?? source.authorization ?? "";
  const value = Array.isArray(auth) ? auth.join(",") : auth;
  switch (url.pathname) {
    case "/echo":
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ method: request.method, headers: request.headers, body }));
      return;
    case "/cached":
    case "/reflect": {
      // Reflects the credential in four encodings, split into one-byte-overlapping chunks.
      const text = [value, Buffer.from(value).toString("base64"), encodeURIComponent(value), JSON.stringify(value)].join("\n");
      response.writeHead(200, { "content-type": "text/plain", "x-reflected": value });
      const step = Number(url.searchParams.get("chunk") ?? text.length);
      const bytes = Buffer.from(text, "latin1");
      for (let offset = 0; offset < bytes.length; offset += step) response.write(bytes.subarray(offset, offset + step));
      response.end();
      return;
    }
    case "/redirect":
      response.writeHead(302, { location: `https://other.example.test:${port}/next` });
      response.end("moved");
      return;
    case "/sse":
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      response.write("data: first\n\n");
      void held().then(() => response.end("data: second\n\n"));
      return;
    default:
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(`ok ${request.method ?? ""} ${url.pathname}`);
  }
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString().split("\n").filter((line) => line !== ""));
    callback();
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface Harness {
  upstream: Upstream;
  sidecar: Sidecar;
  logs: LogCapture;
  ports: { explicit: number; tls: number; http: number; admin: number };
  close(): Promise<void>;
}

/** A raw TLS server on loopback for `host`, its certificate from a CA of its own (see withBoundCredential). */
export async function startRawTlsUpstream(host: string, onConnection: (socket: TLSSocket) => void): Promise<{ server: TlsServer; port: number; caPem: string }> {
  const ca = await CertificateAuthority.create();
  const leaf = await ca.mintLeaf(host);
  const server = createTlsServer({ key: leaf.keyPem, cert: leaf.certificatePem }, onConnection);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as { port: number }).port, caPem: ca.certificatePem };
}

/** baseConfig plus one file-sourced credential bound to `host`, whose upstream's CA (caPem) the sidecar trusts too. */
export function withBoundCredential(upstream: Upstream, caDir: string, bound: { name: string; secret: string; stub: string; host: string; headers: string[]; caPem: string }): SidecarConfigInput {
  const roots = join(caDir, "roots.crt");
  writeFileSync(roots, `${readFileSync(upstream.caFile, "utf8")}\n${bound.caPem}`);
  writeFileSync(join(caDir, bound.name), bound.secret);
  const config = baseConfig(upstream, caDir);
  const credential = { name: bound.name, stub: bound.stub, hosts: [bound.host], inject: { headers: bound.headers }, source: { file: { path: join(caDir, bound.name) } } };
  return { ...config, credentials: [...(config.credentials ?? []), credential], upstreamCaFile: roots };
}

export function baseConfig(upstream: Upstream, caDir: string): SidecarConfigInput {
  return {
    egress: { allow: ["open.example.test", "other.example.test"], allowPrivate: ["127.0.0.0/8"] },
    credentials: [
      { name: "anthropic", stub: STUB, hosts: ["api.example.test"], inject: { headers: ["x-api-key", "authorization"], body: true }, source: { file: { path: join(caDir, "anthropic") } } },
      { name: "github", stub: GH_STUB, hosts: ["git.example.test"], source: { file: { path: join(caDir, "github") } } },
    ],
    caDir,
    upstreamCaFile: upstream.caFile,
  };
}

export async function startHarness(options: { config?: (upstream: Upstream, caDir: string) => SidecarConfigInput; capturedTls?: number } = {}): Promise<Harness> {
  const upstream = await startUpstream();
  const caDir = await mkdtemp(join(tmpdir(), "sidecar-ca-"));
  await writeFile(join(caDir, "anthropic"), `${SECRET}\n`);
  await writeFile(join(caDir, "github"), GH_SECRET);
  const logs = new LogCapture();
  const config = parseSidecarConfig((options.config ?? baseConfig)(upstream, caDir));
  const any = { host: "127.0.0.1", port: 0 };
  const sidecar = await Sidecar.create({
    config,
    resolver: testResolver,
    logger: createLogger(logs),
    listen: { explicit: any, transparentTls: any, transparentHttp: any, admin: any },
    capturedPorts: { tls: options.capturedTls ?? upstream.port, http: upstream.port },
  });
  await sidecar.listen();
  const port = (name: "explicit" | "transparentTls" | "transparentHttp" | "admin"): number => sidecar.addresses[name]?.port ?? 0;
  return {
    upstream,
    sidecar,
    logs,
    ports: { explicit: port("explicit"), tls: port("transparentTls"), http: port("transparentHttp"), admin: port("admin") },
    close: async () => {
      await sidecar.close();
      await upstream.close();
    },
  };
}

/** Opens a CONNECT tunnel through the explicit proxy; resolves with the raw socket or the refusal. */
export function connectTunnel(proxyPort: number, target: string): Promise<{ socket: Socket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: proxyPort, method: "CONNECT", path: target });
    request.once("connect", (response: IncomingMessage, socket: Socket) => {
      socket.on("error", () => socket.destroy());
      if (response.statusCode === 200) {
        resolve({ socket });
        return;
      }
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("close", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    request.once("error", reject);
    request.end();
  });
}

/** TLS over an established socket, trusting only the sidecar's CA. */
export async function tlsOver(socket: Socket, servername: string, ca: string): Promise<TLSSocket> {
  const tls = tlsConnect({ socket, servername, ca });
  await once(tls, "secureConnect");
  return tls;
}

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const agents = new WeakMap<Socket, Agent>();

/** A keep-alive agent whose only connection is `socket`, so requests reuse it in turn. */
function agentOver(socket: Socket): Agent {
  let agent = agents.get(socket);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = (() => socket) as Agent["createConnection"];
    agents.set(socket, agent);
  }
  return agent;
}

/** One HTTP/1.1 request over an existing (TLS) connection. */
export function requestOver(
  socket: Socket | TLSSocket,
  options: { method?: string; path: string; headers: OutgoingHttpHeaders; body?: string | Buffer; setHost?: boolean },
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      method: options.method ?? "GET",
      path: options.path,
      headers: options.headers,
      setHost: options.setHost ?? false,
      agent: agentOver(socket),
    });
    request.once("error", reject);
    request.once("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("latin1") }));
      response.once("error", reject);
    });
    request.end(options.body);
  });
}

/** Sends raw bytes on a new plain connection and returns everything read until the server closes. */
export async function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  const socket = netConnect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  socket.write(bytes);
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}

/** Every way the real secret could appear in text. */
export function containsSecret(text: string): boolean {
  const forms = [SECRET, GH_SECRET].flatMap((secret) => [
    secret,
    secret.slice(4, -4),
    Buffer.from(secret).toString("base64").slice(4, -4),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
  ]);
  return forms.some((form) => text.includes(form));
}
