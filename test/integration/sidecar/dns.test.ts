import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { once } from "node:events";
import { connect } from "node:net";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { DnsResponder } from "../../../sidecar/dns.js";
import { Policy } from "../../../sidecar/policy.js";
import { createLogger } from "../../../sidecar/telemetry.js";
import { LogCapture, testResolver } from "./harness.js";

let responder: DnsResponder;
before(async () => {
  const policy = new Policy(parseSidecarConfig({ egress: { allow: ["api.example.test", "*.allowed.example.test"] } }), new Map());
  responder = new DnsResponder({ policy: () => policy, resolver: testResolver, logger: createLogger(new LogCapture()) });
  await responder.listen({ host: "127.0.0.1", port: 0 });
});
after(async () => {
  await responder.close();
});

function client(tcp: boolean): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${tcp ? responder.tcpPort : responder.udpPort}`]);
  return resolver;
}

test("allowed names are answered over UDP from the resolver", async () => {
  assert.deepEqual(await client(false).resolve4("api.example.test"), ["127.0.0.1"]);
  assert.deepEqual(await client(false).resolve4("deep.allowed.example.test"), ["127.0.0.1"]);
});

test("unlisted names get NXDOMAIN", async () => {
  await assert.rejects(client(false).resolve4("evil.example.test"), { code: "ENOTFOUND" });
  await assert.rejects(client(false).resolveTxt("c2VjcmV0.evil.example.test"), { code: "ENOTFOUND" });
});

test("allowed names with no addresses of that family get an empty answer", async () => {
  await assert.rejects(client(false).resolve6("api.example.test"), { code: "ENODATA" });
});

test("a raw TCP query gets a length-prefixed answer", async () => {
  const header = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const name = Buffer.concat(["api", "example", "test"].map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])));
  const message = Buffer.concat([header, name, Buffer.from([0, 0, 1, 0, 1])]);
  const socket = connect({ host: "127.0.0.1", port: responder.tcpPort });
  await once(socket, "connect");
  socket.write(Buffer.concat([Buffer.from([0, message.length]), message]));
  const [reply] = (await once(socket, "data")) as [Buffer];
  socket.destroy();
  assert.equal(reply.readUInt16BE(2), 0xabcd);
  assert.deepEqual([...reply.subarray(-4)], [127, 0, 0, 1]);
});
