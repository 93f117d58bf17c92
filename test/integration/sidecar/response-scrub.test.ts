// Issue 20, the response side: a hostile bound upstream reflects the real value on every
// response surface — reason phrase, headers, stacked and listed codings, transfer-codings,
// encoder variants, trailers, interim responses, WebSocket frames — and the agent must never
// read it back. Each HTTP case runs on both request paths: the sidecar's own framing (a plain
// GET) and Node's http server (a method outside the plain subset is handed to it). What the
// agent receives is searched after decoding (test/support/secret-leak.ts), not by the
// scrubber's own rules.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Server, TLSSocket } from "node:tls";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import WebSocket from "ws";
import { leaksSecret } from "../../support/secret-leak.js";
import { waitFor } from "../../support/wait.js";
import { connectTunnel, startHarness, tlsOver, type Harness, startRawTlsUpstream, withBoundCredential } from "./harness.js";

const REAL = "sk-ant-api03-" + 'HOSTILE/real+value="q"&0123456789abcdef';
const FAKE = "sk-ant-api03-" + "HOSTILEstubSTUBstubSTUBstub0123456789abcd";
let h: Harness;
let hostile: Server;
let hostilePort = 0;
const upgrades: string[] = [];

const chunked = (...pieces: Array<string | Buffer>): string =>
  pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${Buffer.isBuffer(piece) ? piece.toString("latin1") : piece}\r\n`).join("") + "0\r\n\r\n";
const bin = (buffer: Buffer): string => buffer.toString("latin1");
const percentAll = (value: string): string => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
const unicodeUpper = (value: string): string => [...value].map((char) => `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`).join("");

/** Each case: the raw response (latin1) a hostile upstream writes for the value `key`; close-delimited ones end the socket. */
const cases: Array<{ name: string; response: (key: string) => string; close?: boolean; refused?: boolean; status?: RegExp }> = [
  { name: "reason phrase", response: (key) => `HTTP/1.1 401 Invalid token ${key}\r\nContent-Length: 0\r\n\r\n` },
  // Node's parser takes a DEL in the reason that its writer refuses: that threw an unhandled rejection.
  { name: "reason phrase with a control character", response: (key) => `HTTP/1.1 401 Invalid\x7f ${key}\r\nContent-Length: 0\r\n\r\n`, status: /^HTTP\/1\.1 401 / },
  { name: "headers in several encodings", response: (key) => `HTTP/1.1 200 OK\r\nX-Echo: ${key}\r\nWWW-Authenticate: Bearer token="${Buffer.from(key).toString("base64")}"\r\nLink: <https://x.test/?k=${encodeURIComponent(key)}>\r\nContent-Length: 2\r\n\r\nok` },
  { name: "gzip", response: (key) => withBody("Content-Encoding: gzip", gzipSync(`key=${key}`)) },
  { name: "stacked Content-Encoding: gzip, br", response: (key) => withBody("Content-Encoding: gzip, br", brotliCompressSync(gzipSync(`key=${key}`))) },
  // The decoders finish a tick after the body's last byte: a close in between was taken for a cut response (502).
  { name: "gzip, then the upstream closes at once", response: (key) => withBody("Content-Encoding: gzip\r\nConnection: close", gzipSync(`key=${key}`)), close: true },
  { name: "two Content-Encoding lines", response: (key) => withBody("Content-Encoding: gzip\r\nContent-Encoding: deflate", deflateSync(gzipSync(`key=${key}`))) },
  { name: "Content-Encoding with identity and odd case", response: (key) => withBody("Content-Encoding: identity, GZip", gzipSync(`key=${key}`)) },
  { name: "Transfer-Encoding: gzip, chunked", response: (key) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunked(gzipSync(`key=${key}`))}` },
  { name: "Transfer-Encoding: gzip, close-delimited", response: (key) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n${bin(gzipSync(`key=${key}`))}`, close: true },
  { name: "Transfer-Encoding: deflate and Content-Encoding: br", response: (key) => `HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nTransfer-Encoding: deflate, chunked\r\n\r\n${chunked(deflateSync(brotliCompressSync(`key=${key}`)))}` },
  { name: "an undecodable Content-Encoding is refused", response: (key) => withBody("Content-Encoding: compress", Buffer.from(key)), refused: true },
  { name: "an undecodable transfer-coding is refused", response: (key) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: x-rot13, chunked\r\n\r\n${chunked(key)}`, refused: true },
  { name: "JSON, upper-case \\u escapes", response: (key) => json(unicodeUpper(key)) },
  { name: "JSON escaping + alone", response: (key) => json(JSON.stringify(key).slice(1, -1).replaceAll("+", "\\u002b")) },
  { name: "JSON escaping / alone", response: (key) => json(key.replaceAll("/", "\\/").replaceAll('"', '\\"')) },
  { name: "percent-encoding that keeps /", response: (key) => json(encodeURIComponent(key).replaceAll("%2F", "/")) },
  { name: "every byte percent-encoded", response: (key) => json(percentAll(key)) },
  { name: "hex", response: (key) => json(Buffer.from(key).toString("hex")) },
  { name: "HEX", response: (key) => json(Buffer.from(key).toString("hex").toUpperCase()) },
  { name: "base64url unpadded at offset 1", response: (key) => json(Buffer.from(`:${key}`).toString("base64url")) },
  { name: "split into 3-byte chunks", response: (key) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(...(JSON.stringify({ k: key, p: encodeURIComponent(key) }).match(/[^]{1,3}/g) ?? []))}` },
  { name: "trailers", response: (key) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Echo\r\n\r\n2\r\nok\r\n0\r\nX-Echo: ${key}\r\nX-B64: ${Buffer.from(key).toString("base64")}\r\n\r\n` },
  { name: "1xx interim responses", response: (key) => `HTTP/1.1 103 Early Hints ${key}\r\nLink: <https://x.test/?k=${key}>\r\n\r\nHTTP/1.1 100 Continue\r\nX-Echo: ${key}\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok` },
];

function withBody(headers: string, body: Buffer): string {
  return `HTTP/1.1 200 OK\r\n${headers}\r\nContent-Length: ${body.length}\r\n\r\n${bin(body)}`;
}

function json(encoded: string): string {
  const body = `{"echo":"${encoded}"}`;
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** WebSocket server frames (unmasked unless `mask`). */
function frame(fin: boolean, opcode: number, payload: Buffer | string, options: { mask?: boolean; rsv1?: boolean } = {}): Buffer {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const mask = options.mask === true ? Buffer.from([1, 2, 3, 4]) : undefined;
  const length = data.length < 126 ? [data.length] : [126, data.length >> 8, data.length & 255];
  const header = Buffer.from([(fin ? 0x80 : 0) | (options.rsv1 === true ? 0x40 : 0) | opcode, (mask === undefined ? 0 : 0x80) | (length[0] as number), ...length.slice(1)]);
  const body = mask === undefined ? data : Buffer.from(data.map((byte, index) => byte ^ (mask[index % 4] as number)));
  return Buffer.concat([header, mask ?? Buffer.alloc(0), body]);
}

/** What each WebSocket path sends after the 101. */
const socketCases: Record<string, (key: string) => Buffer[]> = {
  "/ws-text": (key) => [frame(true, 1, JSON.stringify({ token: key }))],
  "/ws-binary": (key) => [frame(true, 2, Buffer.concat([Buffer.from(key), Buffer.from(Buffer.from(key).toString("hex"))]))],
  "/ws-fragmented": (key) => [frame(false, 1, `a:${key.slice(0, 20)}`), frame(true, 9, key), frame(false, 0, key.slice(20, 31)), frame(true, 0, `${key.slice(31)}:z`)],
  "/ws-fragmented-binary": (key) => {
    const bytes = Buffer.from(key);
    return [frame(false, 2, bytes.subarray(0, 5)), frame(false, 0, bytes.subarray(5, 6)), frame(true, 0, bytes.subarray(6))];
  },
  "/ws-byte-by-byte": (key) => [...frame(true, 1, `${key}|${encodeURIComponent(key)}`)].map((byte) => Buffer.from([byte])),
  "/ws-masked": (key) => [frame(true, 1, key, { mask: true })],
  "/ws-close": (key) => [frame(true, 8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from(`bad ${key}`)]))],
  "/ws-deflate": (key) => [frame(true, 1, deflateRawSync(key), { rsv1: true })],
};

function serveHostile(socket: TLSSocket): void {
  let buffer = "";
  socket.on("error", () => socket.destroy());
  socket.on("data", (data: Buffer) => {
    buffer += data.toString("latin1");
    for (let end = buffer.indexOf("\r\n\r\n"); end >= 0; end = buffer.indexOf("\r\n\r\n")) {
      const head = buffer.slice(0, end);
      buffer = buffer.slice(end + 4);
      const key = /\r\n(?:x-api-key|authorization): (?:Bearer )?([^\r]*)/i.exec(head)?.[1] ?? "";
      const path = head.split(" ")[1] ?? "";
      const wsKey = /\r\nsec-websocket-key: ([^\r]*)/i.exec(head)?.[1];
      if (wsKey !== undefined) {
        upgrades.push(head);
        const accept = createHash("sha1").update(`${wsKey}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
        socket.write(`HTTP/1.1 101 Switching ${key}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Echo: ${key}\r\n\r\n`);
        const pieces = socketCases[path]?.(key) ?? [];
        const next = (index: number): void => {
          if (index < pieces.length) socket.write(pieces[index] as Buffer, () => next(index + 1));
        };
        next(0);
        return;
      }
      const chosen = cases[Number(path.slice(1))];
      if (chosen === undefined) {
        socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const bytes = Buffer.from(chosen.response(key), "latin1");
      if (chosen.close === true) socket.end(bytes);
      else socket.write(bytes);
    }
  });
}

before(async () => {
  const upstream = await startRawTlsUpstream("hostile.example.test", serveHostile);
  [hostile, hostilePort] = [upstream.server, upstream.port];
  h = await startHarness({
    config: (base, caDir) =>
      withBoundCredential(base, caDir, { name: "hostile", secret: REAL, stub: FAKE, host: "hostile.example.test", headers: ["x-api-key", "authorization"], caPem: upstream.caPem }),
  });
});

after(async () => {
  await h.close();
  hostile.close();
});

async function hostileTunnel(): Promise<TLSSocket> {
  const tunnel = await connectTunnel(h.ports.explicit, `hostile.example.test:${hostilePort}`);
  assert.ok("socket" in tunnel);
  return tlsOver(tunnel.socket, "hostile.example.test", h.sidecar.caCertificatePem);
}

/** Sends one request that asks to close, returns every byte until the sidecar closes. */
async function exchange(method: string, path: string): Promise<Buffer> {
  const tls = await hostileTunnel();
  const chunks: Buffer[] = [];
  tls.on("data", (chunk: Buffer) => chunks.push(chunk));
  tls.on("error", () => {});
  const closed = once(tls, "close");
  tls.write(`${method} ${path} HTTP/1.1\r\nHost: hostile.example.test\r\nX-Api-Key: ${FAKE}\r\nConnection: close\r\n\r\n`);
  await closed;
  return Buffer.concat(chunks);
}

/** The received bytes and, when the body is chunked, the head plus the de-chunked body (a value split by chunk lines is still found). */
function views(raw: Buffer): Buffer[] {
  const text = raw.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0 || !/\r\ntransfer-encoding:[^\r]*chunked/i.test(text.slice(0, end))) return [raw];
  let body = "";
  let rest = text.slice(end + 4);
  for (;;) {
    const line = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, line), 16);
    if (line < 0 || !(size > 0)) break;
    body += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
  return [raw, Buffer.from(text.slice(0, end + 4) + body, "latin1")];
}

/** True when the response's framing says it ended (a cut one is not a scrubbed one). */
function complete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  const head = text.slice(0, end);
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) return text.endsWith("\r\n0\r\n\r\n");
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
  return length !== undefined && text.length - end - 4 === Number(length);
}

// The plain subset is served by the sidecar's own framing; PROPFIND is outside it (ADR 0002).
for (const [pathName, method] of [["own framing", "GET"], ["Node's http", "PROPFIND"]] as const) {
  describe(`responses on ${pathName}`, () => {
    cases.forEach((chosen, index) => {
      test(`${chosen.name}: the real value never reaches the agent`, async () => {
        assert.ok(views(Buffer.from(chosen.response(REAL), "latin1")).some((view) => leaksSecret(view, REAL)), "the search finds the value in what the upstream sends");
        const raw = await exchange(method, `/${index}`);
        const text = raw.toString("latin1");
        assert.match(text, chosen.status ?? (chosen.refused === true ? /^HTTP\/1\.1 502 / : /^HTTP\/1\.1 [24]0[01] /), text.slice(0, 200));
        for (const view of views(raw)) assert.ok(!leaksSecret(view, REAL), text);
        if (chosen.refused === true) assert.match(text, /cannot scrub/);
        else assert.ok(complete(text), `the response arrives whole, not cut: ${text}`);
      });
    });
  });
}

describe("WebSocket to a bound host", () => {
  /** Opens a WebSocket through the sidecar and collects everything the agent's client hears. */
  async function listen(path: string): Promise<{ heard: Buffer[]; handshake: string }> {
    const tls = await hostileTunnel();
    const ws = new WebSocket(`wss://hostile.example.test:${hostilePort}${path}`, { headers: { authorization: `Bearer ${FAKE}` }, createConnection: () => tls } as WebSocket.ClientOptions);
    const heard: Buffer[] = [];
    let handshake = "";
    ws.on("upgrade", (response) => (handshake = `${response.statusMessage ?? ""} ${JSON.stringify(response.headers)}`));
    ws.on("message", (data: Buffer) => heard.push(Buffer.from(data)));
    ws.on("ping", (data: Buffer) => heard.push(Buffer.from(data)));
    ws.on("error", () => {});
    ws.on("close", (_code, reason: Buffer) => heard.push(Buffer.from(reason)));
    // The upstream sends its frames and stays open; close once they are in (or the sidecar cut it).
    const expected = path === "/ws-fragmented" ? 2 : 1;
    await waitFor(`the frames of ${path}`, () => (heard.length >= expected || ws.readyState === WebSocket.CLOSED ? true : undefined), { timeoutMs: 5_000, intervalMs: 5 });
    ws.terminate();
    return { heard, handshake };
  }

  for (const path of Object.keys(socketCases)) {
    test(`${path}: frames are scrubbed before the agent reads them`, async () => {
      const before = upgrades.length;
      const { heard, handshake } = await listen(path);
      assert.equal(upgrades.length, before + 1, "the upstream saw the handshake");
      const head = upgrades.at(-1) ?? "";
      assert.match(head, new RegExp(`authorization: Bearer ${REAL.replace(/[+/]/g, "\\$&")}`, "i"), "the upstream got the real value");
      assert.doesNotMatch(head, /sec-websocket-extensions/i, "no extension is offered to a bound host");
      assert.ok(!leaksSecret(handshake, REAL), handshake);
      for (const data of heard) assert.ok(!leaksSecret(data, REAL), data.toString("latin1"));
      if (path === "/ws-deflate") assert.equal(heard.filter((data) => data.length > 0).length, 0, "a compressed frame is not passed on");
      else assert.ok(heard.some((data) => data.includes(FAKE) || data.toString("latin1").includes(Buffer.from(FAKE).toString("hex"))), `the stub stands in: ${heard.map(String).join(" | ")}`);
    });
  }
});
