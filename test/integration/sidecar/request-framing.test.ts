// Issue #20: a request body is forwarded with the framing it arrived with on every method. A
// chunked DELETE/OPTIONS/GET body used to reach the upstream unframed (Transfer-Encoding is
// hop-by-hop and was only restored when a body substitution changed the length), so its bytes
// were parsed by the upstream as a next request whose Host the sidecar never checked. The
// credential here (github, git.example.test) has no body injection, so nothing re-frames the
// body by accident. Both upstreams record every request they parse.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { waitFor } from "../../support/wait.js";
import { connectTunnel, GH_SECRET, GH_STUB, rawExchange, startHarness, tlsOver, type Harness, type SeenRequest } from "./harness.js";

const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: evil.example.test\r\n\r\n";
const METHODS = ["DELETE", "OPTIONS", "GET"] as const;

let h: Harness;
let plain: { server: Server; port: number; seen: SeenRequest[] };

before(async () => {
  h = await startHarness();
  const seen: SeenRequest[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("latin1");
      seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ body }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  plain = { server, port: (server.address() as { port: number }).port, seen };
});

after(async () => {
  plain.server.closeAllConnections();
  plain.server.close();
  await h.close();
});

function chunked(method: string, target: string, host: string, extra = ""): string {
  const size = Buffer.byteLength(SMUGGLED).toString(16);
  return `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${size}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
}

/** Every upstream connection is gone, so the upstream has parsed everything it was sent. */
async function upstreamsIdle(): Promise<void> {
  const count = (server: Server): Promise<number> => new Promise((resolve) => server.getConnections((_error, n) => resolve(n)));
  await waitFor("the upstreams' connections to close", async () => ((await count(h.upstream.server)) + (await count(plain.server)) === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
}

async function readAll(socket: Socket | TLSSocket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}

async function intercepted(host: string): Promise<TLSSocket> {
  const tunnel = await connectTunnel(h.ports.explicit, `${host}:${h.upstream.port}`);
  assert.ok("socket" in tunnel, `CONNECT ${host} refused`);
  return tlsOver(tunnel.socket, host, h.sidecar.caCertificatePem);
}

/** Either the body arrived whole as the one request the upstream saw, or the sidecar refused it with 400 and the upstream saw nothing. */
function assertWholeOrRefused(method: string, answer: string, seen: SeenRequest[]): void {
  assert.ok(!seen.some((request) => request.url === "/smuggled"), `${method}: the hidden request reached the upstream unchecked`);
  if (/^HTTP\/1\.1 400 /.test(answer)) {
    assert.equal(seen.length, 0, `${method}: refused, yet the upstream saw a request`);
    return;
  }
  assert.match(answer, /^HTTP\/1\.1 200 /, `${method}: ${answer.slice(0, 200)}`);
  assert.equal(seen.length, 1, `${method}: the upstream parsed exactly one request`);
  assert.equal(seen[0]?.method, method);
  assert.equal(seen[0]?.body, SMUGGLED, `${method}: the body arrived whole`);
}

describe("a chunked body on DELETE, OPTIONS and GET", () => {
  for (const method of METHODS) {
    test(`${method}, intercepted (the sidecar's own framing hands it to Node's): whole, with the stub swapped`, async () => {
      const before = h.upstream.seen.length;
      const tls = await intercepted("git.example.test");
      const answer = readAll(tls);
      tls.write(chunked(method, "/echo", "git.example.test", `Authorization: Bearer ${GH_STUB}\r\n`));
      const text = await answer;
      await upstreamsIdle();
      const seen = h.upstream.seen.slice(before);
      assertWholeOrRefused(method, text, seen);
      assert.equal(seen[0]?.headers.authorization, `Bearer ${GH_SECRET}`);
    });

    test(`${method}, intercepted after a keep-alive request on the sidecar's own framing`, async () => {
      const before = h.upstream.seen.length;
      const tls = await intercepted("git.example.test");
      const answer = readAll(tls);
      tls.write(`GET /first HTTP/1.1\r\nHost: git.example.test\r\n\r\n${chunked(method, "/echo", "git.example.test")}`);
      const text = await answer;
      await upstreamsIdle();
      const seen = h.upstream.seen.slice(before);
      assert.equal(seen[0]?.url, "/first");
      assertWholeOrRefused(method, text.slice(text.indexOf("HTTP/1.1", 1)), seen.slice(1));
    });

    test(`${method}, plain HTTP through Node's http server (explicit proxy, absolute-form)`, async () => {
      const before = plain.seen.length;
      const authority = `open.example.test:${plain.port}`;
      const text = await rawExchange(h.ports.explicit, chunked(method, `http://${authority}/echo`, authority));
      await upstreamsIdle();
      assertWholeOrRefused(method, text, plain.seen.slice(before));
    });
  }
});

test("an upgrade handshake carrying a body is refused with 400; nothing reaches the upstream", async () => {
  const before = h.upstream.seen.length;
  const tls = await intercepted("git.example.test");
  const answer = readAll(tls);
  tls.write(
    `GET /ws HTTP/1.1\r\nHost: git.example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: ${Buffer.byteLength(SMUGGLED)}\r\n\r\n${SMUGGLED}`,
  );
  assert.match(await answer, /^HTTP\/1\.1 400 /);
  await upstreamsIdle();
  assert.equal(h.upstream.seen.length, before);
});
