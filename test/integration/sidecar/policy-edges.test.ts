import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { baseConfig, connectTunnel, containsSecret, rawExchange, requestOver, SECRET, startHarness, STUB, tlsOver } from "./harness.js";

test("without allowPrivate, loopback destinations are refused on every path", async () => {
  const h = await startHarness({
    config: (upstream, caDir) => {
      const config = baseConfig(upstream, caDir);
      return { ...config, egress: { allow: config.egress?.allow ?? [] } };
    },
  });
  try {
    const before = h.upstream.seen.length;
    // Intercepted: the request is answered 403 naming the reason.
    const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    const tls = await tlsOver(tunnel.socket, "api.example.test", h.sidecar.caCertificatePem);
    const response = await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(response.status, 403);
    assert.match(response.body, /127\.0\.0\.1 is a loopback.*allowPrivate/);
    tls.destroy();
    // Plain absolute-form.
    const plain = await rawExchange(h.ports.explicit, `GET http://open.example.test:${h.upstream.port}/ HTTP/1.1\r\nHost: open.example.test:${h.upstream.port}\r\nConnection: close\r\n\r\n`);
    assert.match(plain, /^HTTP\/1\.1 403[\s\S]*loopback/);
    // Metadata address as an IP literal.
    const metadata = await rawExchange(h.ports.explicit, "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n");
    assert.match(metadata, /^HTTP\/1\.1 (400|403)/);
    assert.equal(h.upstream.seen.length, before, "nothing reached the loopback upstream");
  } finally {
    await h.close();
  }
});

test("a reload swaps policy and secrets without dropping open connections", async () => {
  const h = await startHarness();
  try {
    const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${h.upstream.port}`);
    assert.ok("socket" in tunnel);
    const tls = await tlsOver(tunnel.socket, "api.example.test", h.sidecar.caCertificatePem);
    await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(h.upstream.seen.at(-1)?.headers["x-api-key"], SECRET);
    assert.equal((await connectTunnel(h.ports.explicit, `new.example.test:${h.upstream.port}`) as { status?: number }).status, 403);

    const dir = await mkdtemp(join(tmpdir(), "sidecar-reload-"));
    await writeFile(join(dir, "anthropic"), "sk-ant-api03-" + "ROTATED-value-0123456789");
    await writeFile(join(dir, "github"), "ghp_" + "rotatedROTATEDrotatedROTATED000000");
    await h.sidecar.reload(parseSidecarConfig({ ...baseConfig(h.upstream, dir), egress: { allow: ["new.example.test"], allowPrivate: ["127.0.0.0/8"] } }));

    const again = await requestOver(tls, { path: "/echo", headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(again.status, 200, "the open connection still works");
    // The value rotated out is still scrubbed when a response carries it (a stale cache here).
    const stale = await requestOver(tls, { path: "/cached", headers: { host: "api.example.test", "x-api-key": STUB } });
    assert.equal(stale.status, 200);
    assert.ok(!containsSecret(stale.body) && !containsSecret(JSON.stringify(stale.headers)), "the previous value leaked after the rotation");
    assert.ok(stale.body.includes(STUB), "the previous value is replaced by the stub");
    assert.equal(h.upstream.seen.at(-1)?.headers["x-api-key"], "sk-ant-api03-" + "ROTATED-value-0123456789");
    const opened = await connectTunnel(h.ports.explicit, `new.example.test:${h.upstream.port}`);
    assert.ok("socket" in opened, "the new allow-list applies");
    opened.socket.destroy();
    tls.destroy();
    await assert.rejects(h.sidecar.reload(parseSidecarConfig({ ...baseConfig(h.upstream, "/nonexistent") })), /cannot read its value/);
  } finally {
    await h.close();
  }
});

test("a new downstream connection resumes the upstream's TLS session (never its socket)", async () => {
  const ca = await CertificateAuthority.create();
  const leaf = await ca.mintLeaf("api.example.test");
  const dir = await mkdtemp(join(tmpdir(), "sidecar-resume-"));
  await writeFile(join(dir, "ca.crt"), ca.certificatePem);
  const seen: Array<{ reused: boolean; socket: Socket }> = [];
  const server = createHttpsServer({ key: leaf.keyPem, cert: leaf.certificatePem }, (request, response) => {
    seen.push({ reused: (request.socket as TLSSocket).isSessionReused(), socket: request.socket });
    response.end("ok");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const h = await startHarness({ config: (upstream, caDir) => ({ ...baseConfig(upstream, caDir), upstreamCaFile: join(dir, "ca.crt") }) });
  try {
    for (let round = 0; round < 2; round++) {
      const tunnel = await connectTunnel(h.ports.explicit, `api.example.test:${port}`);
      assert.ok("socket" in tunnel);
      const tls = await tlsOver(tunnel.socket, "api.example.test", h.sidecar.caCertificatePem);
      const response = await requestOver(tls, { path: "/", headers: { host: `api.example.test:${port}`, "x-api-key": STUB } });
      assert.equal(response.status, 200);
      tls.destroy();
    }
    assert.deepEqual(seen.map((entry) => entry.reused), [false, true], "the second connection should resume the first one's session");
    assert.notEqual(seen[0]?.socket, seen[1]?.socket, "each downstream connection has its own upstream connection");
  } finally {
    await h.close();
    server.closeAllConnections();
    server.close();
  }
});
