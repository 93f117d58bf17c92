// The one request pipeline every listener feeds: verify the destination, apply the policy,
// swap stubs, forward to the upstream on the checked address, scrub what comes back, audit.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from "node:https";
import { isIP } from "node:net";
import type { TLSSocket } from "node:tls";
import { pipeline, type Readable, type Writable } from "node:stream";
import { agentFor, type ConnectionContext, type Runtime } from "./context.js";
import { verifyDestination, type Destination } from "./destination.js";
import { asProxyError, notAllowed, ProxyError, statusFor } from "./errors.js";
import { endToEndHeaders, flatHeaders, framingProblem, headerList, requestBodyFraming, withBodyFraming, type HeaderList } from "./http-framing.js";
import { prepareResponse } from "./response-scrub.js";
import { StreamReplacer, type Replacement } from "./scrub.js";
import type { ScrubStream } from "./secret-scrubber.js";
import type { PolicyState } from "./state.js";
import { ScrubTransform } from "./streams.js";
import { substituteHeaders } from "./substitute.js";
import { audit, logRefusal } from "./telemetry.js";
import { fixedLookup, resolveAllowed, type ResolvedAddress } from "./upstream.js";

export interface Plan {
  state: PolicyState;
  destination: Destination;
  path: string;
  headers: HeaderList;
  used: string[];
  bound: boolean; // responses are scrubbed
  bodyReplacements: Replacement[];
}

/** What planning needs of a request: its target and its headers (lower-case names, in order). */
export interface RequestHead {
  url: string;
  headers: HeaderList;
}

/** The head of a request Node's parser read. */
export function headOf(request: IncomingMessage): RequestHead {
  return { url: request.url ?? "", headers: headerList(request.rawHeaders) };
}

/** Decides everything about a request before a byte goes upstream. Throws ProxyError. */
export function planRequest(runtime: Runtime, context: ConnectionContext, request: RequestHead, upgrade: boolean): Plan {
  const raw = request.headers;
  const problem = framingProblem(raw);
  if (problem !== undefined) throw new ProxyError("bad-request", problem);
  const { absolute, path } = splitTarget(context, request.url);
  let host: string | undefined;
  for (const [name, value] of raw) {
    if (name !== "host") continue;
    if (host !== undefined) throw new ProxyError("bad-request", "the request has more than one Host header");
    host = value;
  }
  const destination = verifyDestination({
    connect: context.connect,
    sni: context.sni,
    host,
    absolute,
    defaultPort: context.destination?.port ?? context.defaultPort,
  });
  const state = runtime.state();
  const { policy } = state;
  if (!policy.isAllowed(destination.host)) {
    throw notAllowed(destination.host);
  }
  const substituted = substituteHeaders({
    host: destination.host,
    tls: context.tls,
    target: path,
    headers: endToEndHeaders(raw, { upgrade }),
    credentials: policy.credentials,
  });
  let headers = substituted.headers;
  if (host === undefined) headers.push(["host", absolute ?? destination.host]);
  const bound = context.tls && policy.intercepts(destination.host);
  if (bound) headers = [...headers.filter(([name]) => name !== "accept-encoding"), ["accept-encoding", "identity"]];
  const encoded = headers.some(([name, value]) => name === "content-encoding" && value.trim().toLowerCase() !== "identity");
  const bodyReplacements: Replacement[] =
    bound && !encoded
      ? policy
          .boundTo(destination.host)
          .filter((credential) => credential.body)
          .map((credential) => [Buffer.from(credential.stub), Buffer.from(credential.secret)] as const)
      : [];
  const framing = requestBodyFraming(raw);
  // A handshake's body would be sent after the switch, as bytes of the new protocol.
  if (upgrade && framing.kind !== "none" && !(framing.kind === "length" && framing.length === 0)) {
    throw new ProxyError("bad-request", "an upgrade request may not carry a body");
  }
  headers = withBodyFraming(headers, framing, { lengthChanges: bodyReplacements.some(([from, to]) => from.length !== to.length) });
  return { state, destination, path, headers, used: substituted.used, bound, bodyReplacements };
}

function splitTarget(context: ConnectionContext, target: string): { absolute: string | undefined; path: string } {
  if (target.startsWith("/")) {
    if (context.explicit) throw new ProxyError("bad-request", "this is a proxy port: send absolute-form requests (http://host/path) or use CONNECT");
    return { absolute: undefined, path: target };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new ProxyError("bad-request", "the request target is neither a path nor an absolute URL");
  }
  const scheme = context.tls ? "https:" : "http:";
  if (url.protocol !== scheme) {
    throw new ProxyError("bad-request", context.tls ? "an absolute-form URL inside TLS must be https" : "send https:// requests through CONNECT, not as absolute-form");
  }
  if (url.username !== "" || url.password !== "") throw new ProxyError("bad-request", "credentials in the URL are not accepted");
  // URL drops the default port; put it back so "a.com:443" and "a.com" compare equal.
  return { absolute: url.host, path: `${url.pathname}${url.search}` };
}

/** Handles one ordinary request end to end. Never throws. */
export async function handleRequest(runtime: Runtime, context: ConnectionContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = performance.now();
  const method = request.method ?? "GET";
  let plan: Plan | undefined;
  try {
    plan = planRequest(runtime, context, headOf(request), false);
    const resolved = await resolveFor(runtime, context, plan);
    await forward(runtime, context, { request, response, plan, resolved, started });
  } catch (error) {
    const failure = asProxyError(error);
    runtime.metrics.refusals.inc({ kind: failure.kind });
    if (failure.kind === "forbidden" || failure.kind === "misdirected") {
      audit(runtime.logger, {
        event: "refused",
        credentials: plan?.used ?? [],
        host: plan?.destination.host ?? context.destination?.host ?? "-",
        method,
        path: pathOnly(request.url ?? ""),
        status: statusFor(failure.kind),
        bytesIn: 0,
        bytesOut: 0,
        durationMs: performance.now() - started,
        reason: failure.message,
      });
    }
    logRefusal(runtime.logger, failure, plan?.destination.host ?? context.destination?.host ?? "-");
    sendError(response, failure);
    request.resume();
  }
}

export async function resolveFor(runtime: Runtime, context: ConnectionContext, plan: Plan): Promise<ResolvedAddress> {
  if (context.destination !== undefined) {
    context.resolved ??= await resolveAllowed(plan.destination.host, runtime.resolver, plan.state.policy.allowedAddresses);
    return context.resolved;
  }
  return resolveAllowed(plan.destination.host, runtime.resolver, plan.state.policy.allowedAddresses);
}

interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  plan: Plan;
  resolved: ResolvedAddress;
  started: number;
}

export function upstreamRequest(runtime: Runtime, context: ConnectionContext, plan: Plan, resolved: ResolvedAddress, method: string, agent: boolean): ClientRequest {
  const { host, port } = plan.destination;
  const roots = context.tls ? plan.state.upstreamRoots?.context : undefined;
  const options = {
    host,
    port,
    method,
    path: plan.path,
    headers: flatHeaders(plan.headers),
    setHost: false,
    lookup: fixedLookup(resolved),
    ...(agent ? { agent: agentFor(context) } : { agent: false as const }),
    ...(context.tls ? { servername: isIP(host) === 0 ? host : undefined, secureContext: roots, rejectUnauthorized: true, ALPNProtocols: ["http/1.1"] } : {}),
  };
  if (!context.tls) return withTimeout(runtime, httpRequest(options), host);
  const sessionKey = `${host}:${port}`;
  // `session` reaches tls.connect for a new socket (the agent passes options through); the
  // https typings leave it out.
  const withSession: HttpsRequestOptions & { session?: Buffer | undefined } = { ...options, session: runtime.upstreamSessions.get(roots, sessionKey) };
  const upstream = httpsRequest(withSession);
  upstream.once("socket", (socket: TLSSocket) => runtime.upstreamSessions.watch(socket, roots, sessionKey));
  return withTimeout(runtime, upstream, host);
}

/** Bounds the upstream's silence. */
function withTimeout(runtime: Runtime, upstream: ClientRequest, host: string): ClientRequest {
  upstream.setTimeout(runtime.limits.idleTimeoutMs, () => upstream.destroy(new ProxyError("timeout", `${host} went silent`)));
  return upstream;
}

function forward(runtime: Runtime, context: ConnectionContext, exchange: Exchange): Promise<void> {
  const { request, response, plan } = exchange;
  const method = request.method ?? "GET";
  return new Promise<void>((resolve, reject) => {
    const upstream = upstreamRequest(runtime, context, plan, exchange.resolved, method, true);
    let inbound: Counted = { bytes: 0 };
    upstream.once("error", (error) => {
      if (!response.headersSent) reject(error);
      else response.destroy();
    });
    upstream.once("response", (incoming) => {
      let outbound: Counted;
      try {
        outbound = relayResponse(plan, method, incoming, response);
      } catch (error) {
        incoming.destroy();
        reject(error);
        return;
      }
      response.once("close", () => {
        const mode = plan.bound ? "intercepted" : context.tls ? "intercepted" : "plain";
        runtime.metrics.requests.inc({ mode, status: `${Math.floor((incoming.statusCode ?? 0) / 100)}xx` });
        for (const name of plan.used) runtime.metrics.swaps.inc({ credential: name });
        if (plan.used.length > 0) {
          audit(runtime.logger, {
            event: "request",
            credentials: plan.used,
            host: plan.destination.host,
            method,
            path: pathOnly(plan.path),
            status: incoming.statusCode ?? 0,
            bytesIn: inbound.bytes,
            bytesOut: outbound.bytes,
            durationMs: Math.round((performance.now() - exchange.started) * 1000) / 1000,
          });
        }
      });
      resolve();
    });
    inbound = relayBody(request, upstream, plan.bodyReplacements.length > 0 ? new StreamReplacer(plan.bodyReplacements) : undefined, { keepSourceOnClose: true });
  });
}

/** Bytes read from a source so far (for the audit record). */
interface Counted {
  bytes: number;
}

function relayResponse(plan: Plan, method: string, incoming: IncomingMessage, response: ServerResponse): Counted {
  const hasBody = method !== "HEAD" && incoming.statusCode !== 204 && incoming.statusCode !== 304;
  const received = headerList(incoming.rawHeaders);
  // Reason phrase, headers and body of a bound host's answer are scrubbed, its codings decoded first.
  const prepared = prepareResponse(plan.bound ? plan.state.scrubber : undefined, {
    reason: incoming.statusMessage ?? "",
    headers: received,
    hasBody,
    lengthFramed: received.some(([name]) => name === "content-length") && !received.some(([name]) => name === "transfer-encoding"),
    // Node's parser takes off a final "chunked" and leaves the codings before it on the body.
    dechunked: true,
  });
  const { headers } = prepared;
  // prepareResponse dropped a reason phrase Node's writer would refuse (a throw here escaped).
  response.writeHead(incoming.statusCode ?? 502, prepared.reason, flatHeaders(headers));
  // Streamed responses (SSE) must reach the client as they come, starting with the head.
  if (!headers.some(([name]) => name === "content-length")) response.flushHeaders();
  if (prepared.decoders.length === 0) return relayBody(incoming, response, prepared.body);
  const counted = { bytes: 0 };
  incoming.on("data", (chunk: Buffer) => (counted.bytes += chunk.length));
  // Coded: decode first (rare, since upstreams are asked for identity).
  const stages = prepared.body === undefined ? prepared.decoders : [...prepared.decoders, new ScrubTransform(prepared.body)];
  pipeline([incoming, ...stages, response], () => {
    // Either side closing early ends the exchange; the error, if any, is the socket's to report.
  });
  return counted;
}

/**
 * Streams a body chunk by chunk, replacing patterns on the way, with backpressure; either side
 * failing or closing early tears down the other. Lighter than a pipeline with a Transform,
 * which matters on the per-request path.
 */
function relayBody(source: Readable, target: Writable, replacer: StreamReplacer | ScrubStream | undefined, options: { keepSourceOnClose?: boolean } = {}): Counted {
  const counted = { bytes: 0 };
  source.on("data", (chunk: Buffer) => {
    counted.bytes += chunk.length;
    const out = replacer === undefined ? chunk : replacer.push(chunk);
    if (out.length > 0 && !target.write(out)) source.pause();
  });
  target.on("drain", () => source.resume());
  source.once("end", () => {
    const rest = replacer?.end();
    if (rest !== undefined && rest.length > 0) target.end(rest);
    else target.end();
  });
  source.once("error", (error) => target.destroy(error));
  target.once("close", () => {
    if (source.readableEnded) return;
    // A request body whose upstream went away is drained, so an error response can still be sent.
    if (options.keepSourceOnClose === true) {
      source.removeAllListeners("data");
      source.resume();
    } else {
      source.destroy();
    }
  });
  return counted;
}

/** Writes a ProxyError as a response a person can act on; never includes a value. */
export function sendError(response: ServerResponse, error: ProxyError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = `agentbox sidecar: ${error.message}\n`;
  response.writeHead(statusFor(error.kind), {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-agentbox-refused": error.kind,
  });
  response.end(body);
}

export function pathOnly(target: string): string {
  const withoutQuery = target.split("?")[0] ?? "";
  try {
    return withoutQuery.startsWith("/") ? withoutQuery : new URL(withoutQuery).pathname;
  } catch {
    return "-";
  }
}
