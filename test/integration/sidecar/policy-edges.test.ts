import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { baseConfig, connectTunnel, rawExchange, requestOver, SECRET, startHarness, STUB, tlsOver } from "./harness.js";

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
