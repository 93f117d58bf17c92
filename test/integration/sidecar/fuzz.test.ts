// Acceptance 3: at least 10,000 malformed or random requests, TLS records and DNS messages at
// every listener. Nothing crashes, no promise rejection goes unhandled, memory stays bounded,
// no response carries a real value, and the sidecar still works afterwards.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { connectTunnel, containsSecret, requestOver, SECRET, startHarness, STUB, tlsOver, type Harness } from "./harness.js";
import { DnsResponder } from "../../../sidecar/dns.js";
import { createLogger } from "../../../sidecar/telemetry.js";
import { LogCapture, testResolver } from "./harness.js";

const TOTAL = 10_000;
const CONCURRENCY = 48;

let h: Harness;
let dns: DnsResponder;
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown): void => {
  unhandled.push(error);
};

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  h = await startHarness();
  dns = new DnsResponder({ policy: () => h.sidecar.policy, resolver: testResolver, logger: createLogger(new LogCapture()) });
  await dns.listen({ host: "127.0.0.1", port: 0 });
});
after(async () => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  await dns.close();
  await h.close();
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
