import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyError } from "../../../sidecar/errors.js";
import { chunk, ChunkedDecoder, parseResponseHead, parseSimpleRequest, responseFraming, reusable, serializeHead } from "../../../sidecar/http1.js";

const simple: Array<[string, string, boolean]> = [
  ["a plain GET", "GET /v1/messages?x=1 HTTP/1.1\r\nHost: api.example.test\r\nX-Api-Key: stub", true],
  ["a POST with Content-Length", "POST /v1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12", true],
  ["an absolute-form target", "GET https://a.example.test/x HTTP/1.1\r\nHost: a.example.test", true],
  ["no headers at all", "GET / HTTP/1.1", true],
  ["HTTP/1.0", "GET / HTTP/1.0\r\nHost: a", false],
  ["an unknown method", "PROPFIND / HTTP/1.1\r\nHost: a", false],
  ["CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443", false],
  ["a lower-case method", "get / HTTP/1.1\r\nHost: a", false],
  ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: a", false],
  ["a control character in the target", "GET /\x01 HTTP/1.1\r\nHost: a", false],
  ["Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked", false],
  ["CL + TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked", false],
  ["two Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5", false],
  ["a signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5", false],
  ["a list Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5", false],
  ["an Upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade", false],
  ["Expect: 100-continue", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-continue", false],
  ["whitespace before the colon", "GET / HTTP/1.1\r\nHost : a", false],
  ["an obsolete line fold", "GET / HTTP/1.1\r\nHost: a\r\n b", false],
  ["a bare LF inside a value", "GET / HTTP/1.1\r\nHost: a\nX-Evil: 1", false],
  ["a bare CR inside a value", "GET / HTTP/1.1\r\nHost: a\rX-Evil: 1", false],
  ["a NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \0", false],
  ["obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \xe9", false],
  ["a header line without a colon", "GET / HTTP/1.1\r\nHost a", false],
  ["an empty header name", "GET / HTTP/1.1\r\n: a", false],
  ["too many headers", `GET / HTTP/1.1${"\r\nX: 1".repeat(101)}`, false],
];

for (const [name, head, accepted] of simple) {
  test(`parseSimpleRequest: ${name} is ${accepted ? "served" : "left to Node's parser"}`, () => {
    assert.equal(parseSimpleRequest(head) !== undefined, accepted);
  });
}

test("parseSimpleRequest lower-cases names, trims values, reads the length and Connection: close", () => {
  assert.deepEqual(parseSimpleRequest("POST /x HTTP/1.1\r\nHost:  a \r\nContent-Length: 3\r\nConnection: keep-alive, Close"), {
    method: "POST",
    target: "/x",
    headers: [["host", "a"], ["content-length", "3"], ["connection", "keep-alive, Close"]],
    contentLength: 3,
    close: true,
  });
});

const framings: Array<[string, string, string, ReturnType<typeof responseFraming> | RegExp]> = [
  ["Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5", { kind: "length", length: 5 }],
  ["repeated equal Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5", { kind: "length", length: 5 }],
  ["chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", { kind: "chunked" }],
  ["TE wins over CL", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked", { kind: "chunked" }],
  ["TE not ending in chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip", { kind: "close" }],
  ["no framing", "GET", "HTTP/1.1 200 OK", { kind: "close" }],
  ["HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5", { kind: "none" }],
  ["204", "GET", "HTTP/1.1 204 No Content", { kind: "none" }],
  ["304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9", { kind: "none" }],
  ["conflicting Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6", /invalid Content-Length/],
  ["negative Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: -1", /invalid Content-Length/],
];

for (const [name, method, head, expected] of framings) {
  test(`responseFraming: ${name}`, () => {
    if (expected instanceof RegExp) assert.throws(() => responseFraming(method, parseResponseHead(head)), expected);
    else assert.deepEqual(responseFraming(method, parseResponseHead(head)), expected);
  });
}

const badResponses: Array<[string, string]> = [
  ["HTTP/2 status line", "HTTP/2 200 OK"],
  ["a two-digit status", "HTTP/1.1 20 OK"],
  ["a bare LF injecting a header", "HTTP/1.1 200 OK\r\nX-A: 1\nSet-Cookie: evil"],
  ["a bare CR in a value", "HTTP/1.1 200 OK\r\nX-A: 1\rX"],
  ["a NUL in a value", "HTTP/1.1 200 OK\r\nX-A: \0"],
  ["a line fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded"],
  ["a space before the colon", "HTTP/1.1 200 OK\r\nX-A : 1"],
];

for (const [name, head] of badResponses) {
  test(`parseResponseHead refuses ${name}`, () => {
    assert.throws(() => parseResponseHead(head), (error: unknown) => error instanceof ProxyError && error.kind === "upstream");
  });
}

test("parseResponseHead takes control characters in the reason phrase as Node's parser does (prepareResponse drops such a reason)", () => {
  assert.equal(parseResponseHead("HTTP/1.1 401 Invalid\x7f\x00\x1b token\r\nContent-Length: 0").reason, "Invalid\x7f\x00\x1b token");
  assert.throws(() => parseResponseHead("HTTP/1.1 401 Invalid\nX-Injected: 1"), (error: unknown) => error instanceof ProxyError && error.kind === "upstream");
});

test("parseResponseHead keeps obs-text and the reason phrase", () => {
  assert.deepEqual(parseResponseHead("HTTP/1.0 404 Not Found\r\nContent-Disposition: file=\xe9"), { status: 404, reason: "Not Found", minor: 0, headers: [["content-disposition", "file=\xe9"]] });
});

const reuse: Array<[string, string, boolean]> = [
  ["HTTP/1.1 by default", "HTTP/1.1 200 OK\r\nContent-Length: 0", true],
  ["Connection: close", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: Close", false],
  ["HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 0", false],
  ["HTTP/1.0 with keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive", true],
  ["a body delimited by close", "HTTP/1.1 200 OK", false],
  ["close in a later Connection header", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\nConnection: x, close", false],
  ["HTTP/1.0 with keep-alive in a second Connection header", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: x\r\nConnection: Keep-Alive", true],
];

for (const [name, text, expected] of reuse) {
  test(`reusable: ${name}`, () => {
    const head = parseResponseHead(text);
    assert.equal(reusable(head, responseFraming("GET", head)), expected);
  });
}

test("serializeHead refuses a value with a line break", () => {
  assert.equal(serializeHead("GET / HTTP/1.1", [["host", "a"]]), "GET / HTTP/1.1\r\nhost: a\r\n\r\n");
  assert.throws(() => serializeHead("GET / HTTP/1.1", [["x", "a\r\nevil: 1"]]), /line break/);
});

function decodeAll(pieces: Buffer[]): { body: string; consumed: number[]; done: boolean } {
  const decoder = new ChunkedDecoder();
  const out: Buffer[] = [];
  const consumed = pieces.map((piece) => decoder.push(piece, (data) => out.push(Buffer.from(data))));
  return { body: Buffer.concat(out).toString("latin1"), consumed, done: decoder.done };
}

test("ChunkedDecoder decodes whole, byte by byte, with extensions and trailers", () => {
  const wire = "5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
  assert.deepEqual(decodeAll([Buffer.from(wire)]), { body: "hello0123456789", consumed: [wire.length], done: true });
  const bytes = [...Buffer.from(wire)].map((byte) => Buffer.from([byte]));
  const result = decodeAll(bytes);
  assert.equal(result.body, "hello0123456789");
  assert.equal(result.done, true);
});

test("ChunkedDecoder stops at the end of the body and says how much it used", () => {
  const result = decodeAll([Buffer.from("1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n")]);
  assert.equal(result.body, "a");
  assert.deepEqual(result.consumed, [11]);
});

const badChunks: Array<[string, string]> = [
  ["a non-hex size", "g\r\nx\r\n"],
  ["a negative size", "-1\r\nx\r\n"],
  ["a size too large", `${"f".repeat(13)}\r\n`],
  ["a chunk longer than its size", "1\r\nab\r\n"],
  ["a bare LF after the size", "1\na\r\n"],
  ["an over-long extension", `1;${"x".repeat(5000)}\r\n`],
  ["a space before the size", " 1\r\na\r\n"],
];

for (const [name, wire] of badChunks) {
  test(`ChunkedDecoder refuses ${name}`, () => {
    assert.throws(() => decodeAll([Buffer.from(wire)]), (error: unknown) => error instanceof ProxyError && error.kind === "upstream");
  });
}

test("chunk frames data with its hex size", () => {
  assert.equal(Buffer.concat(chunk(Buffer.from("x".repeat(26)))).toString(), `1a\r\n${"x".repeat(26)}\r\n`);
});
