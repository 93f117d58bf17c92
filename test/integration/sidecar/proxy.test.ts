import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect as netConnect, createServer as createNetServer } from "node:net";
import { connect as tlsConnect } from "node:tls";
import WebSocket from "ws";
import {
  connectTunnel, containsSecret, GH_SECRET, GH_STUB, rawExchange, requestOver, SECRET, startHarness, STUB, tlsOver,
  type Harness,
} from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

async function tunnelTo(host: string, sni = host): Promise<import("node:tls").TLSSocket> {
  const tunnel = await connectTunnel(h.ports.explicit, `${host}:${h.upstream.port}`);
  assert.ok("socket" in tunnel, `CONNECT ${host} refused: ${JSON.stringify(tunnel)}`);
  return tlsOver(tunnel.socket, sni, h.sidecar.caCertificatePem);
}

function lastSeen(): { headers: Record<string, unknown>; url: string; body: string } {
  const seen = h.upstream.seen.at(-1);
  assert.ok(seen !== undefined, "the upstream saw a request");
  return seen as never;
}

describe("swaps", () => {
  test("a stub towards its bound host arrives as the real value; the client sees only the stub", async () => {
    const tls = await tunnelTo("api.example.test");
    const response = await requestOver(tls, { path: "/echo", headers: { host: `api.example.test:${h.upstream.port}`, "x-api-key": STUB } });
    assert.equal(response.status, 200);
    assert.equal(lastSeen().headers["x-api-key"], SECRET);
    assert.equal(lastSeen().headers["accept-encoding"], "identity");
    assert.ok(!containsSecret(response.body), "the echoed secret was scrubbed");
    assert.ok(response.body.includes(STUB));
    // Keep-alive: a second request on the same connection swaps too.
    const second = await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", authorization: `Bearer ${STUB}` } });
    assert.equal(second.status, 200);
    assert.equal(lastSeen().headers.authorization, `Bearer ${SECRET}`);
    tls.destroy();
    const audit = h.logs.records().filter((record) => (record.audit as { event?: string } | undefined)?.event === "request");
    assert.ok(audit.length >= 2);
    assert.deepEqual((audit[0]?.audit as { credentials: string[] }).credentials, ["anthropic"]);
    assert.ok(!h.logs.lines.some(containsSecret), "no log line carries the real value");
  });

  test("git-style Basic auth is decoded, swapped and re-encoded", async () => {
    const tls = await tunnelTo("git.example.test");
    const basic = Buffer.from(`x-access-token:${GH_STUB}`).toString("base64");
    const response = await requestOver(tls, { path: "/repo.git/info/refs", headers: { host: "git.example.test", authorization: `Basic ${basic}` } });
    assert.equal(response.status, 200);
    assert.equal(lastSeen().headers.authorization, `Basic ${Buffer.from(`x-access-token:${GH_SECRET}`).toString("base64")}`);
    tls.destroy();
  });

  test("request bodies are swapped only for a credential that opts in", async () => {
    const tls = await tunnelTo("api.example.test");
    const body = `{"key":"${STUB}","pad":"${"x".repeat(70_000)}"}`;
    const response = await requestOver(tls, { method: "POST", path: "/echo", headers: { host: "api.example.test", "content-type": "application/json", "content-length": Buffer.byteLength(body) }, body });
    assert.equal(response.status, 200);
    assert.ok(lastSeen().body.includes(SECRET), "large streamed upload arrived swapped");
    assert.equal(lastSeen().body.length, body.length - STUB.length + SECRET.length);
    tls.destroy();
  });
});

describe("refusals", () => {
  test("a stub towards a host it is not bound to is refused and audited", async () => {
    const tls = await tunnelTo("git.example.test");
    const before = h.upstream.seen.length;
    const response = await requestOver(tls, { path: "/echo", headers: { host: "git.example.test", "x-api-key": STUB } });
    assert.equal(response.status, 403);
    assert.match(response.body, /credential "anthropic".*git\.example\.test/);
    assert.equal(h.upstream.seen.length, before, "nothing reached the upstream");
    tls.destroy();
    const refused = h.logs.records().map((record) => record.audit as { event?: string; host?: string } | undefined).filter((record) => record?.event === "refused");
    assert.ok(refused.some((record) => record?.host === "git.example.test"));
  });

  test("a stub in a plain-HTTP absolute-form request to an allowed host is refused", async () => {
    const text = await rawExchange(h.ports.explicit, `GET http://open.example.test:${h.upstream.port}/x HTTP/1.1\r\nHost: open.example.test:${h.upstream.port}\r\nAuthorization: Bearer ${STUB}\r\nConnection: close\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 403/);
  });

  test("Host different from SNI is refused", async () => {
    const tls = await tunnelTo("api.example.test");
    const before = h.upstream.seen.length;
    const response = await requestOver(tls, { path: "/echo", headers: { host: "git.example.test", "x-api-key": STUB } });
    assert.equal(response.status, 421);
    assert.equal(h.upstream.seen.length, before);
    tls.destroy();
  });

  test("SNI different from the CONNECT target: the handshake is refused", async () => {
    const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    const tls = tlsConnect({ socket: tunnel.socket, servername: "git.example.test", ca: h.sidecar.caCertificatePem });
    const [error] = (await once(tls, "error")) as [Error];
    assert.ok(error instanceof Error);
  });

  test("an absolute-form target inside an intercepted connection naming another host is refused", async () => {
    const tls = await tunnelTo("api.example.test");
    const response = await requestOver(tls, { path: `https://git.example.test:${h.upstream.port}/echo`, headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(response.status, 421);
    tls.destroy();
  });

  test("CONNECT to a host outside the allow-list is refused", async () => {
    const result = await connectTunnel(h.ports.explicit, `evil.example.test:${h.upstream.port}`);
    assert.ok("status" in result);
    assert.equal(result.status, 403);
  });

  test("an unlisted DNS name is refused on every listener", async () => {
    const text = await rawExchange(h.ports.http, "GET / HTTP/1.1\r\nHost: unlisted.example.test\r\nConnection: close\r\n\r\n");
    assert.match(text, /^HTTP\/1\.1 403[\s\S]*is not in spec\.egress\.allow/);
    const socket = netConnect({ host: "127.0.0.1", port: h.ports.tls });
    const tls = tlsConnect({ socket, servername: "unlisted.example.test", ca: h.sidecar.caCertificatePem });
    const [error] = (await once(tls, "error")) as [Error];
    assert.ok(error instanceof Error);
  });

  test("CL+TE is refused", async () => {
    const before = h.upstream.seen.length;
    const text = await rawExchange(h.ports.http, `POST /echo HTTP/1.1\r\nHost: open.example.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: open.example.test\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.equal(h.upstream.seen.length, before);
    assert.ok(!h.upstream.seen.some((seen) => seen.url === "/smuggled"));
  });

  test("oversized request headers are bounded with 431", async () => {
    const text = await rawExchange(h.ports.http, `GET / HTTP/1.1\r\nHost: open.example.test\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431/);
  });
});

describe("framing", () => {
  test("a DELETE with a chunked body does not desync the connection", async () => {
    const tls = await tunnelTo("api.example.test");
    const first = await requestOver(tls, { method: "DELETE", path: "/echo", headers: { host: "api.example.test", "transfer-encoding": "chunked" }, body: "GET /smuggled HTTP/1.1\r\nHost: api.example.test\r\n\r\n" });
    assert.equal(first.status, 200);
    assert.match(JSON.parse(first.body).body as string, /smuggled/, "the body arrived as a body");
    const second = await requestOver(tls, { method: "OPTIONS", path: "/after", headers: { host: "api.example.test", "content-length": 4 }, body: "abcd" });
    assert.equal(second.status, 200);
    assert.equal(second.body, "ok OPTIONS /after");
    assert.ok(!h.upstream.seen.some((seen) => seen.url === "/smuggled"));
    tls.destroy();
  });

  test("a 302 is passed back, not followed, and the next hop never sees the real value", async () => {
    const tls = await tunnelTo("api.example.test");
    const before = h.upstream.seen.length;
    const response = await requestOver(tls, { path: "/redirect", headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(response.status, 302);
    assert.match(String(response.headers.location), /other\.example\.test/);
    assert.equal(h.upstream.seen.length, before + 1, "only the redirecting request reached an upstream");
    tls.destroy();
    // The client follows it itself: other.example.test is allowed but unbound, so it is a raw
    // tunnel and the next hop gets the stub, never the real value.
    const tunnel = await connectTunnel(h.ports.explicit, `other.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    const next = await tlsOver(tunnel.socket, "other.example.test", await readFile(h.upstream.caFile, "utf8"));
    const followed = await requestOver(next, { path: "/next", headers: { host: "other.example.test", "x-api-key": STUB } });
    assert.equal(followed.status, 200);
    assert.equal(lastSeen().url, "/next");
    assert.equal(lastSeen().headers["x-api-key"], STUB);
    next.destroy();
  });

  test("an echo of the real value is scrubbed in all four encodings, also split across chunks", async () => {
    for (const chunk of [10_000, 7, 1]) {
      const tls = await tunnelTo("api.example.test");
      const response = await requestOver(tls, { path: `/reflect?chunk=${chunk}`, headers: { host: "api.example.test", "x-api-key": STUB } });
      assert.equal(response.status, 200);
      assert.ok(!containsSecret(response.body), `chunk ${chunk}: ${response.body}`);
      assert.ok(!containsSecret(String(response.headers["x-reflected"])));
      // Each form of the value holds the stub in the same encoding (written unit by unit as the
      // value was; base64 loses the stub's bits past the value's length).
      const [raw, base64, percent, json] = response.body.split("\n");
      assert.deepEqual([raw, decodeURIComponent(percent ?? ""), JSON.parse(json ?? "")], [STUB, STUB, STUB]);
      assert.ok(Buffer.from(base64 ?? "", "base64").toString("latin1").startsWith(STUB.slice(0, -2)), base64);
      tls.destroy();
    }
  });

  test("SSE: the first event arrives before the upstream finishes", async () => {
    const tls = await tunnelTo("api.example.test");
    const request = httpRequest({ path: "/sse", headers: { host: "api.example.test", "x-api-key": STUB }, setHost: false, createConnection: () => tls });
    request.end();
    const [response] = (await once(request, "response")) as [import("node:http").IncomingMessage];
    assert.equal(response.headers["content-type"], "text/event-stream");
    const [first] = (await once(response, "data")) as [Buffer];
    assert.equal(first.toString(), "data: first\n\n");
    h.upstream.releaseSse();
    const rest: Buffer[] = [];
    response.on("data", (chunk: Buffer) => rest.push(chunk));
    await once(response, "end");
    assert.equal(Buffer.concat(rest).toString(), "data: second\n\n");
    tls.destroy();
  });

  test("WebSocket: the handshake's stub is swapped, frames flow both ways, and the agent never reads the real value back", async () => {
    const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    const tls = await tlsOver(tunnel.socket, "api.example.test", h.sidecar.caCertificatePem);
    const ws = new WebSocket(`wss://api.example.test:${h.upstream.port}/ws`, { headers: { authorization: `Bearer ${STUB}` }, createConnection: () => tls } as WebSocket.ClientOptions);
    const [greeting] = (await once(ws, "message")) as [Buffer];
    assert.deepEqual(JSON.parse(String(greeting)), { authorization: `Bearer ${STUB}` }, "the echoed value is scrubbed");
    assert.equal(lastSeen().headers.authorization, `Bearer ${SECRET}`, "the upstream saw the real value");
    ws.send("ping");
    const [echo] = (await once(ws, "message")) as [Buffer];
    assert.equal(String(echo), "echo:ping");
    ws.close();
  });

  test("allowed hosts without a credential are tunnelled without interception", async () => {
    const tunnel = await connectTunnel(h.ports.explicit, `open.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    // The upstream's own certificate arrives: the sidecar's CA would not verify it.
    const tls = tlsConnect({ socket: tunnel.socket, servername: "open.example.test", ca: await readFile(h.upstream.caFile, "utf8") });
    await once(tls, "secureConnect");
    const response = await requestOver(tls, { path: "/plain", headers: { host: "open.example.test" } });
    assert.equal(response.body, "ok GET /plain");
    tls.destroy();
  });
});

describe("tunnels", () => {
  test("a server-speaks-first protocol works through CONNECT to an unbound host", async () => {
    const server = createNetServer((socket) => {
      socket.write("SSH-2.0-test\r\n");
      socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
      socket.on("error", () => socket.destroy());
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const tunnel = await connectTunnel(h.ports.explicit, `open.example.test:${port}`);
    assert.ok("socket" in tunnel);
    const [banner] = (await once(tunnel.socket, "data")) as [Buffer];
    assert.equal(banner.toString(), "SSH-2.0-test\r\n", "the banner arrives before the client sends anything");
    tunnel.socket.write("hello");
    const [echo] = (await once(tunnel.socket, "data")) as [Buffer];
    assert.equal(echo.toString(), "echo:hello");
    tunnel.socket.destroy();
    server.close();
  });

  test("a tunnel whose SNI differs from its CONNECT target is closed", async () => {
    const before = h.upstream.seen.length;
    const tunnel = await connectTunnel(h.ports.explicit, `open.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    const tls = tlsConnect({ socket: tunnel.socket, servername: "other.example.test", ca: await readFile(h.upstream.caFile, "utf8") });
    const [error] = (await once(tls, "error")) as [Error];
    assert.ok(error instanceof Error);
    assert.equal(h.upstream.seen.length, before);
  });
});

describe("transparent capture listeners", () => {
  test("the TLS listener takes the destination from SNI and swaps", async () => {
    const socket = netConnect({ host: "127.0.0.1", port: h.ports.tls });
    await once(socket, "connect");
    const tls = await tlsOver(socket, "api.example.test", h.sidecar.caCertificatePem);
    const response = await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(response.status, 200);
    assert.equal(lastSeen().headers["x-api-key"], SECRET);
    tls.destroy();
  });

  test("the HTTP listener forwards plain requests by Host", async () => {
    // The plain upstream port is the TLS upstream here; so expect a failure status, not a hang.
    const text = await rawExchange(h.ports.http, "GET /x HTTP/1.1\r\nHost: open.example.test\r\nConnection: close\r\n\r\n");
    assert.match(text, /^HTTP\/1\.1 (502|400)/);
  });
});

describe("admin", () => {
  test("/healthz, /readyz and /metrics answer and expose nothing secret", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const response = await fetch(`http://127.0.0.1:${h.ports.admin}${path}`);
      assert.equal(response.status, 200, path);
      const text = await response.text();
      assert.ok(!containsSecret(text) && !text.includes(STUB), path);
      if (path === "/metrics") assert.match(text, /agentbox_sidecar_credential_swaps_total\{credential="anthropic"\} [1-9]/);
    }
  });
});
