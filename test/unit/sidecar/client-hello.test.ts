import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { connect } from "node:tls";
import { parseClientHello } from "../../../sidecar/client-hello.js";

/** Captures the first bytes a real Node TLS client sends. */
async function realClientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const accepted = once(server, "connection");
  const client = connect({ host: "127.0.0.1", port, ...(servername === undefined ? {} : { servername }) });
  client.on("error", () => {});
  const [socket] = (await accepted) as [Socket];
  const [data] = (await once(socket, "data")) as [Buffer];
  client.destroy();
  socket.destroy();
  server.close();
  return data;
}

test("reads SNI from a real ClientHello, and waits for more bytes when truncated", async () => {
  const hello = await realClientHello("api.example.test");
  assert.deepEqual(parseClientHello(hello), { kind: "hello", sni: "api.example.test" });
  for (const cut of [1, 5, 40, hello.length - 1]) {
    assert.deepEqual(parseClientHello(hello.subarray(0, cut)), { kind: "incomplete" }, `cut ${cut}`);
  }
});

test("a ClientHello without SNI", async () => {
  const hello = await realClientHello(undefined);
  assert.deepEqual(parseClientHello(hello), { kind: "hello", sni: undefined });
});

test("a ClientHello split over two records", async () => {
  const hello = await realClientHello("split.example.test");
  const body = hello.subarray(5);
  const record = (part: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 255]), part]);
  const split = Buffer.concat([record(body.subarray(0, 50)), record(body.subarray(50))]);
  assert.deepEqual(parseClientHello(split), { kind: "hello", sni: "split.example.test" });
});

const garbage: Array<[string, Buffer]> = [
  ["HTTP", Buffer.from("GET / HTTP/1.1\r\n")],
  ["wrong version", Buffer.from([0x16, 0x09, 0x01, 0x00, 0x10])],
  ["zero-length record", Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])],
  ["not a ClientHello", Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])],
  ["truncated body", Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03])],
];
for (const [name, data] of garbage) {
  test(`not TLS: ${name}`, () => {
    assert.deepEqual(parseClientHello(data), { kind: "not-tls" });
  });
}
