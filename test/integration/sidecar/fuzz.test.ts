// Acceptance 3: at least 10,000 malformed or random requests, TLS records and DNS messages at
// every listener. Nothing crashes, no promise rejection goes unhandled, memory stays bounded,
// no response carries a real value, and the sidecar still works afterwards. Then the other
// direction (issue 20): 10,000 responses from a hostile bound upstream that reflects the real
// value on every surface, in every encoding and coding, framed, misframed and split at random,
// on both request paths, plus 10,000 random WebSocket frame streams through the frame scrubber.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { Agent, request as httpRequest } from "node:http";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect, createSecureContext, type SecureContext, type Server as TlsServer, type TLSSocket } from "node:tls";
import { brotliCompressSync as brotliSlow, constants as zlibConstants, deflateSync, gzipSync } from "node:zlib";
import { ProxyError } from "../../../sidecar/errors.js";
import { SecretScrubber } from "../../../sidecar/secret-scrubber.js";
import { ServerFrameScrubber } from "../../../sidecar/websocket-frames.js";
import { leaksSecret } from "../../support/secret-leak.js";
import { connectTunnel, containsSecret, requestOver, SECRET, startHarness, STUB, tlsOver, type Harness, startRawTlsUpstream, withBoundCredential } from "./harness.js";
import { DnsResponder } from "../../../sidecar/dns.js";
import { createLogger } from "../../../sidecar/telemetry.js";
import { LogCapture, testResolver } from "./harness.js";

const TOTAL = Number(process.env.FUZZ_TOTAL ?? 10_000);
const CONCURRENCY = 48;

const HOSTILE_SECRET = "sk-ant-api03-" + 'FUZZreal/value+with="odd"&chars0123456789';
const HOSTILE_STUB = "sk-ant-api03-" + "FUZZstubSTUBstubSTUBstubSTUBstub0123456789";
let h: Harness;
let dns: DnsResponder;
let hostile: TlsServer;
let hostilePort = 0;
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown): void => {
  unhandled.push(error);
};

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  const upstream = await startRawTlsUpstream("hostile.example.test", serveHostile);
  [hostile, hostilePort] = [upstream.server, upstream.port];
  h = await startHarness({
    config: (base, caDir) =>
      withBoundCredential(base, caDir, { name: "hostile", secret: HOSTILE_SECRET, stub: HOSTILE_STUB, host: "hostile.example.test", headers: ["x-api-key"], caPem: upstream.caPem }),
  });
  dns = new DnsResponder({ policy: () => h.sidecar.policy, resolver: testResolver, logger: createLogger(new LogCapture()) });
  await dns.listen({ host: "127.0.0.1", port: 0 });
});
after(async () => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  await dns.close();
  await h.close();
  hostile.close();
});

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(Number(process.env.FUZZ_SEED ?? 20261125));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const bytes = (length: number): Buffer => Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));

const TEMPLATES = [
  `GET http://open.example.test/ HTTP/1.1\r\nHost: open.example.test\r\n\r\n`,
  `POST /echo HTTP/1.1\r\nHost: api.example.test\r\nx-api-key: ${STUB}\r\nContent-Length: 5\r\n\r\nhello`,
  `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  `DELETE /x HTTP/1.1\r\nHost: api.example.test\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nx\r\n0\r\n\r\n`,
  `CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: api.example.test\r\nHost: evil.example.test\r\nAuthorization: Basic ${Buffer.from(`x:${STUB}`).toString("base64")}\r\n\r\n`,
  `GET /ws HTTP/1.1\r\nHost: api.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  `GET http://169.254.169.254/latest HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n`,
  `OPTIONS * HTTP/1.1\r\nHost: open.example.test\r\n\r\n`,
];

function mutate(input: Buffer): Buffer {
  const out = Buffer.from(input);
  const edits = 1 + Math.floor(random() * 4);
  let result = out;
  for (let index = 0; index < edits; index++) {
    const position = Math.floor(random() * Math.max(1, result.length));
    switch (Math.floor(random() * 6)) {
      case 0:
        result[position] = Math.floor(random() * 256);
        break;
      case 1:
        result = result.subarray(0, position);
        break;
      case 2:
        result = Buffer.concat([result.subarray(0, position), Buffer.from(pick(["\r\n", "\n", "\0", " ", ":", "\r", "%00", "\u00ff", "Transfer-Encoding: chunked\r\n", "Content-Length: -1\r\n", "x".repeat(40_000)])), result.subarray(position)]);
        break;
      case 3:
        result = Buffer.concat([result.subarray(0, position), bytes(1 + Math.floor(random() * 64)), result.subarray(position)]);
        break;
      case 4:
        result = Buffer.concat([result, result.subarray(0, position)]);
        break;
      default:
        result = Buffer.concat([result.subarray(position), result.subarray(0, position)]);
    }
  }
  return result;
}

function httpInput(): Buffer {
  return random() < 0.15 ? bytes(Math.floor(random() * 512)) : mutate(Buffer.from(pick(TEMPLATES), "latin1"));
}

let clientHello: Buffer = Buffer.alloc(0);

function tlsInput(): Buffer {
  const roll = random();
  if (roll < 0.5) return mutate(clientHello);
  if (roll < 0.8) {
    const body = bytes(Math.floor(random() * 300));
    return Buffer.concat([Buffer.from([pick([0x16, 0x17, 0x15, 0x14, 0x80]), 0x03, pick([0, 1, 3, 4]), body.length >> 8, body.length & 255]), body]);
  }
  return bytes(Math.floor(random() * 512));
}

const responses: Buffer[] = [];
let responseBytes = 0;

/** Sends one input on a fresh connection, keeps what comes back, and always ends the socket. */
async function shoot(port: number, input: Buffer): Promise<void> {
  const socket = netConnect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.once("connect", () => socket.end(input));
  // once() would reject on a reset, which is an answer like any other here.
  const closed = new Promise((resolve) => socket.once("close", resolve));
  // The sidecar must answer or close by itself; the deadline only keeps the test bounded.
  const deadline = setTimeout(() => socket.destroy(), 5_000);
  await closed;
  clearTimeout(deadline);
  const data = Buffer.concat(chunks);
  responseBytes += data.length;
  if (data.length > 0) responses.push(data.subarray(0, 4096));
}

async function shootDns(input: Buffer): Promise<void> {
  const socket = createSocket("udp4");
  socket.on("error", () => {});
  socket.send(input, dns.udpPort, "127.0.0.1");
  socket.close();
}

async function shootIntercepted(input: Buffer): Promise<void> {
  let tls: import("node:tls").TLSSocket;
  try {
    const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${h.upstream.port}`);
    if (!("socket" in tunnel)) return;
    tls = await tlsOver(tunnel.socket, "api.example.test", h.sidecar.caCertificatePem);
  } catch {
    return; // the client side failing to set up is not what is under test
  }
  tls.on("error", () => {});
  const chunks: Buffer[] = [];
  tls.on("data", (chunk: Buffer) => chunks.push(chunk));
  tls.end(input);
  const deadline = setTimeout(() => tls.destroy(), 5_000);
  await new Promise((resolve) => tls.once("close", resolve));
  clearTimeout(deadline);
  const data = Buffer.concat(chunks);
  if (data.length > 0) responses.push(data.subarray(0, 4096));
}

async function captureClientHello(): Promise<Buffer> {
  const { createServer } = await import("node:net");
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection");
  const client = tlsConnect({ host: "127.0.0.1", port: (server.address() as { port: number }).port, servername: "api.example.test" });
  client.on("error", () => {});
  const [socket] = (await accepted) as [import("node:net").Socket];
  const [data] = (await once(socket, "data")) as [Buffer];
  client.destroy();
  socket.destroy();
  server.close();
  return data;
}

test(`${TOTAL} malformed inputs at every listener: no crash, bounded memory, no leak`, { timeout: 240_000 }, async () => {
  clientHello = await captureClientHello();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const jobs: Array<() => Promise<void>> = [];
  for (let index = 0; index < TOTAL; index++) {
    const kind = index % 10;
    if (kind < 3) jobs.push(() => shoot(h.ports.explicit, httpInput()));
    else if (kind < 5) jobs.push(() => shoot(h.ports.http, httpInput()));
    else if (kind < 7) jobs.push(() => shoot(h.ports.tls, tlsInput()));
    else if (kind < 8) jobs.push(() => shootIntercepted(httpInput()));
    else if (kind < 9) jobs.push(() => shootDns(random() < 0.5 ? bytes(Math.floor(random() * 100)) : mutate(Buffer.from("abcd0100000100000000000003617069076578616d706c65047465737400000100 01".replace(/ /g, ""), "hex"))));
    else jobs.push(() => shoot(h.ports.admin, httpInput()));
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (job !== undefined) await job();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  gc?.();
  const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;
  console.log(`fuzz: ${TOTAL} inputs in ${seconds.toFixed(1)} s, ${responses.length} responses (${responseBytes} bytes), RSS growth ${rssGrowthMb.toFixed(1)} MB`);

  assert.deepEqual(unhandled, [], "no uncaught exception or unhandled rejection");
  assert.ok(rssGrowthMb < 200, `RSS grew ${rssGrowthMb.toFixed(1)} MB`);
  const leaking = responses.filter((response) => containsSecret(response.toString("latin1")));
  assert.equal(leaking.length, 0, "no response carries a real value");
  assert.ok(responses.length > TOTAL / 4, "most inputs got an answer");

  // Still healthy: a normal swapped request works.
  const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${h.upstream.port}`);
  assert.ok("socket" in tunnel);
  const tls = await tlsOver(tunnel.socket, "api.example.test", h.sidecar.caCertificatePem);
  const response = await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", "x-api-key": STUB } });
  assert.equal(response.status, 200);
  assert.equal(h.upstream.seen.at(-1)?.headers["x-api-key"], SECRET);
  tls.destroy();
});

// ---- The response side: a hostile bound upstream. ----

/** The value as some encoder would write it. */
const ENCODINGS: Array<(value: string) => string> = [
  (value) => value,
  (value) => JSON.stringify(value).slice(1, -1),
  (value) => [...value].map((char) => `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`).join(""),
  (value) => JSON.stringify(value).slice(1, -1).replaceAll("+", "\\u002b").replaceAll("/", "\\/"),
  (value) => encodeURIComponent(value).replaceAll("%2F", "/"),
  (value) => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join(""),
  (value) => Buffer.from(value).toString("hex"),
  (value) => Buffer.from(value).toString("hex").toUpperCase(),
  (value) => Buffer.from(`u:${value}`).toString("base64"),
  (value) => Buffer.from(`${value}`).toString("base64url"),
  (value) => Buffer.from(`ab${value}`).toString("base64").replace(/(.{20})/g, "$1\r\n"),
];
/** Brotli at its fastest setting: the default (quality 11) made generating the responses the test's main cost. */
const brotliCompressSync = (body: Buffer): Buffer => brotliSlow(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } });
const CODINGS: Array<[string, (body: Buffer) => Buffer]> = [
  ["", (body) => body],
  ["Content-Encoding: gzip\r\n", gzipSync],
  ["Content-Encoding: deflate\r\n", deflateSync],
  ["Content-Encoding: br\r\n", brotliCompressSync],
  ["Content-Encoding: gzip, br\r\n", (body) => brotliCompressSync(gzipSync(body))],
  ["Content-Encoding: gzip\r\nContent-Encoding: deflate\r\n", (body) => deflateSync(gzipSync(body))],
];
/** A coding the sidecar cannot decode (refused with 502, which closes the connection): rarer than the rest, each costs a reconnect. */
const UNDECODABLE: [string, (body: Buffer) => Buffer] = ["Content-Encoding: zstd\r\n", (body) => body];

/** One hostile response for `key` (the real value the sidecar sent), from seed `n`. Also says whether the socket must close after it. */
function hostileResponse(n: number, key: string): { bytes: Buffer; close: boolean } {
  const rnd = prng(n);
  const choose = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const encoded = (): string => choose(ENCODINGS)(key);
  const [codingHeader, code] = rnd() < 0.03 ? UNDECODABLE : choose(CODINGS);
  const body = code(Buffer.from(`{"a":"${encoded()}","pad":"${"x".repeat(Math.floor(rnd() * 80))}"}`, "latin1"));
  const interim = rnd() < 0.1 ? `HTTP/1.1 103 Hints ${encoded()}\r\nLink: <https://x.test/${encoded()}>\r\n\r\n` : "";
  const status = `HTTP/1.1 ${choose([200, 401, 403, 500])} ${rnd() < 0.3 ? `Invalid token ${encoded()}` : "OK"}\r\n`;
  const headers = `X-Echo: ${encoded()}\r\n${codingHeader}`;
  // Mostly keep-alive framings: each close-delimited answer costs the test a new connection (two TLS handshakes).
  const roll = rnd();
  const framing = roll < 0.47 ? 0 : roll < 0.94 ? 1 : roll < 0.97 ? 2 : 3;
  let text: string;
  let close = false;
  if (framing === 0) text = `${status}${headers}Content-Length: ${body.length}\r\n\r\n${body.toString("latin1")}`;
  else if (framing === 1) {
    let chunks = "";
    for (let at = 0; at < body.length; ) {
      const size = 1 + Math.floor(rnd() * 40);
      const piece = body.subarray(at, at + size);
      chunks += `${piece.length.toString(16)}\r\n${piece.toString("latin1")}\r\n`;
      at += size;
    }
    const trailers = rnd() < 0.5 ? `X-Trailer: ${encoded()}\r\n` : "";
    text = `${status}${headers}Transfer-Encoding: ${rnd() < 0.2 && codingHeader === "" ? "gzip, " : ""}chunked\r\n\r\n${chunks}0\r\n${trailers}\r\n`;
    if (text.includes("gzip, chunked")) text = text.replace(chunks, `${gzipSync(body).length.toString(16)}\r\n${gzipSync(body).toString("latin1")}\r\n`);
  } else if (framing === 2) {
    text = `${status}${headers}\r\n${body.toString("latin1")}`;
    close = true;
  } else {
    text = `${status}${headers}Transfer-Encoding: gzip\r\n\r\n${gzipSync(body).toString("latin1")}`;
    close = true;
  }
  let bytes: Buffer = Buffer.from(interim + text, "latin1");
  // Some have their framing mangled (status line or end): whatever the sidecar makes of them,
  // the value must not come back. Mangling inside an encoded value is not framing: it hands the
  // agent a value with a byte changed, a transformation no scrubber inverts (ADR 0001's limits),
  // and the leak search, which trims the value's ends, still flags it (seeds 2464, 2880 and 7401
  // mangled a reason phrase's value). So only the status line's "HTTP/1.1 NNN " is mangled, and
  // the end only of an uncoded body (its JSON tail, the last chunk, trailers): the end of a
  // compressed body decodes to an altered tail, which may be the value's.
  if (rnd() < 0.06) {
    // No insertions: a head inserted before the real one turns that into an unlabelled body,
    // compressed bytes without Content-Encoding, which is outside what is scrubbed (see the ADR).
    const uncoded = codingHeader === "" && !text.includes("Transfer-Encoding: gzip");
    bytes = mutateWith(rnd, bytes, rnd() < 0.5 || !uncoded ? [0, "HTTP/1.1 200 ".length] : [Math.max(0, bytes.length - 8), bytes.length], false);
    close = true;
  }
  return { bytes, close };
}

/** One random edit at a position within `region` (start, end). */
function mutateWith(rnd: () => number, input: Buffer, region: readonly [number, number], insert = true): Buffer {
  const out = Buffer.from(input);
  const at = region[0] + Math.floor(rnd() * Math.max(1, region[1] - region[0]));
  const roll = insert ? rnd() : rnd() * 0.7;
  if (roll < 0.4) out[at] = Math.floor(rnd() * 256);
  else if (roll < 0.7) return out.subarray(0, at);
  else return Buffer.concat([out.subarray(0, at), Buffer.from(pick(["\r\n", "\n", "\0", "Transfer-Encoding: chunked\r\n", "Content-Length: 99\r\n", "HTTP/1.1 200 OK\r\n\r\n"])), out.subarray(at)]);
  return out;
}

/** Answers /h/<n> with hostileResponse(n), written in random pieces. */
function serveHostile(socket: TLSSocket): void {
  let buffer = "";
  // Without it Nagle holds each piece after the first until the sidecar's delayed ACK (40 ms).
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  socket.on("data", (data: Buffer) => {
    buffer += data.toString("latin1");
    for (let end = buffer.indexOf("\r\n\r\n"); end >= 0; end = buffer.indexOf("\r\n\r\n")) {
      const head = buffer.slice(0, end);
      buffer = buffer.slice(end + 4);
      const key = /\r\nx-api-key: ([^\r]*)/i.exec(head)?.[1] ?? "";
      const n = Number(/ \/h\/(\d+) /.exec(head)?.[1] ?? 0);
      const { bytes, close } = hostileResponse(n, key);
      const rnd = prng(n ^ 0x5bd1e995);
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(rnd() * 300);
        socket.write(bytes.subarray(at, at + size));
        at += size;
      }
      if (close) socket.end();
    }
  });
}

interface Heard {
  status: number;
  reason: string;
  headers: string[];
  body: Buffer;
  trailers: string[];
}

let reconnects = 0;
/** One context for every client connection (a `ca` option parses the certificate on each connect). */
let clientContext: SecureContext | undefined;
/** A keep-alive connection to the hostile host through the sidecar; reopened whenever the sidecar closes it. */
class HostileClient {
  private tls: TLSSocket | undefined;
  private agent: Agent | undefined;
  private session: Buffer | undefined;

  constructor(private readonly method: string) {}

  private async socket(): Promise<{ tls: TLSSocket; agent: Agent }> {
    if (this.tls === undefined || this.agent === undefined || this.tls.destroyed || !this.tls.writable) {
      reconnects += 1;
      const tunnel = await connectTunnel(h.ports.explicit, `hostile.example.test:${hostilePort}`);
      if (!("socket" in tunnel)) throw new Error("the tunnel was refused");
      // The sidecar's TLS session is resumed: a full handshake each way per reconnect was most of the test's time.
      clientContext ??= createSecureContext({ ca: h.sidecar.caCertificatePem });
      const tls = tlsConnect({ socket: tunnel.socket, servername: "hostile.example.test", secureContext: clientContext, session: this.session });
      tls.on("session", (session: Buffer) => (this.session = session));
      await once(tls, "secureConnect");
      tls.on("error", () => {});
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agent.createConnection = (() => tls) as Agent["createConnection"];
      this.tls = tls;
      this.agent = agent;
    }
    return { tls: this.tls, agent: this.agent };
  }

  async send(n: number): Promise<Heard | undefined> {
    const { tls, agent } = await this.socket();
    return new Promise((resolve) => {
      const settle = (heard: Heard | undefined): void => {
        clearTimeout(deadline);
        if (heard === undefined) tls.destroy();
        resolve(heard);
      };
      // The sidecar must answer or close; the deadline only bounds the test.
      const deadline = setTimeout(() => settle(undefined), 5_000);
      const request = httpRequest({ method: this.method, path: `/h/${n}`, headers: { host: "hostile.example.test", "x-api-key": HOSTILE_STUB }, setHost: false, agent });
      request.once("error", () => settle(undefined));
      request.once("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("error", () => settle(undefined));
        response.once("aborted", () => settle(undefined));
        response.once("end", () =>
          settle({ status: response.statusCode ?? 0, reason: response.statusMessage ?? "", headers: response.rawHeaders, body: Buffer.concat(chunks), trailers: response.rawTrailers }),
        );
      });
      request.end();
    });
  }

  close(): void {
    this.tls?.destroy();
  }
}

test(`${TOTAL} hostile responses from a bound upstream: no crash, bounded memory, the real value never comes back`, { timeout: 240_000 }, async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  // Own framing (GET) and Node's http server (PROPFIND, outside the plain subset), 3 connections
  // each way: on 2 cores more only queue up (24 took 66 s, most of it reconnecting).
  const clients = Array.from({ length: 6 }, (_, index) => new HostileClient(index % 2 === 0 ? "PROPFIND" : "GET"));
  const leaks: number[] = [];
  let answered = 0;
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < TOTAL) {
        const n = next++;
        const heard = await client.send(n).catch(() => undefined);
        if (heard === undefined) continue;
        answered += 1;
        const surfaces = [heard.reason, ...heard.headers, ...heard.trailers].join("\n");
        if (leaksSecret(surfaces, HOSTILE_SECRET) || leaksSecret(heard.body, HOSTILE_SECRET)) leaks.push(n);
      }
      client.close();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  gc?.();
  const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;
  console.log(`fuzz: ${TOTAL} hostile responses in ${seconds.toFixed(1)} s, ${answered} answered, ${reconnects} connections, RSS growth ${rssGrowthMb.toFixed(1)} MB`);
  assert.deepEqual(unhandled, [], "no uncaught exception or unhandled rejection");
  assert.deepEqual(leaks.slice(0, 10), [], `responses carrying the real value (seeds; replay with hostileResponse(n))`);
  assert.ok(answered > TOTAL / 2, `most responses were answered (${answered})`);
  assert.ok(rssGrowthMb < 200, `RSS grew ${rssGrowthMb.toFixed(1)} MB`);
});

/**
 * The data frames' payloads joined, so a value split across fragments is searched whole, and
 * each control frame's payload on its own (a client never joins a ping to a message; a value
 * split across separate messages or frames of different kinds is not one the agent reads).
 */
function payloads(frames: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  const controls: Buffer[] = [];
  for (let at = 0; at + 2 <= frames.length; ) {
    let length = (frames[at + 1] as number) & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = frames.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      length = Number(frames.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    ((frames[at] as number) & 0x08 ? controls : parts).push(frames.subarray(start, start + length));
    at = start + length;
  }
  return [Buffer.concat(parts), ...controls];
}

test(`${TOTAL} random WebSocket frame streams through the frame scrubber: only protocol errors, never the value`, () => {
  const scrubber = new SecretScrubber([{ secret: HOSTILE_SECRET, stub: HOSTILE_STUB }]);
  const frameOf = (rnd: () => number, fin: boolean, opcode: number, payload: Buffer): Buffer => {
    const first = (fin ? 0x80 : 0) | (rnd() < 0.03 ? 0x40 : 0) | opcode;
    const masked = rnd() < 0.2;
    const length = payload.length < 126 ? [payload.length] : [126, payload.length >> 8, payload.length & 255];
    const mask = masked ? Buffer.from([rnd() * 256, rnd() * 256, rnd() * 256, rnd() * 256]) : Buffer.alloc(0);
    const body = masked ? Buffer.from(payload.map((byte, index) => byte ^ (mask[index % 4] as number))) : payload;
    return Buffer.concat([Buffer.from([first, (masked ? 0x80 : 0) | (length[0] as number), ...length.slice(1)]), mask, body]);
  };
  const encodedValue = (rnd: () => number): string => ENCODINGS[Math.floor(rnd() * ENCODINGS.length)]?.(HOSTILE_SECRET) ?? "";
  /** A ping, pong or close whose payload is filler or the whole value (at its start, too: a close code's two bytes are no hiding place). */
  const controlFrame = (rnd: () => number): Buffer => {
    const value = encodedValue(rnd);
    const payload = rnd() < 0.5 && value.length <= 125 ? `${rnd() < 0.5 ? "" : "\x03\xe8"}${value}` : "ping".repeat(Math.floor(rnd() * 5));
    return frameOf(rnd, true, [8, 9, 10][Math.floor(rnd() * 3)] as number, Buffer.from(payload, "latin1"));
  };
  for (let n = 0; n < TOTAL; n++) {
    const rnd = prng(n + 1);
    const frames = new ServerFrameScrubber(scrubber);
    // First a frame of filler of any kind, whose header byte may be mangled: whatever it turns
    // into (a message left open, a stray continuation, a control frame, an unknown opcode), the
    // value's message after it is either read whole or refused.
    const lead = frameOf(rnd, rnd() < 0.8, [0, 1, 2, 8, 9, 10, 3][Math.floor(rnd() * 7)] as number, Buffer.from("lead".repeat(Math.floor(rnd() * 8))));
    const parts: Buffer[] = [rnd() < 0.2 ? mutateWith(rnd, lead, [0, 1], false) : lead];
    // Then one message of several fragments, the value split across them in some encoding,
    // control frames between them (RFC 6455 allows them inside a fragmented message). A value
    // split across separate messages is outside what a scrubber can see (ADR 0001's limits), so
    // the fragments always form one message: a text or binary frame, then continuations.
    const text = Buffer.from(`${"y".repeat(Math.floor(rnd() * 20))}${encodedValue(rnd)}z`, "latin1");
    const cuts = [0, ...Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => Math.floor(rnd() * text.length)).sort((a, b) => a - b), text.length];
    const opcode = rnd() < 0.05 ? 3 : rnd() < 0.5 ? 1 : 2;
    for (let index = 0; index + 1 < cuts.length; index++) {
      if (index > 0 && rnd() < 0.3) parts.push(controlFrame(rnd));
      // The last fragment mostly ends the message; a message left open must still not leak.
      const last = index + 2 === cuts.length;
      parts.push(frameOf(rnd, last && rnd() < 0.9, index === 0 ? opcode : 0, text.subarray(cuts[index], cuts[index + 1])));
    }
    if (rnd() < 0.3) parts.push(controlFrame(rnd));
    const stream = Buffer.concat(parts);
    const out: Buffer[] = [];
    try {
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(rnd() * 50);
        out.push(frames.push(stream.subarray(at, at + size)));
        at += size;
      }
    } catch (error) {
      assert.ok(error instanceof ProxyError, `seed ${n}: ${String(error)}`);
    }
    const sent = Buffer.concat(out);
    assert.ok(![sent, ...payloads(sent)].some((view) => leaksSecret(view, HOSTILE_SECRET)), `seed ${n}`);
  }
});
