import { test } from "node:test";
import assert from "node:assert/strict";
import { endToEndHeaders, flatHeaders, framingProblem, headerList, requestBodyFraming, withBodyFraming, type HeaderList } from "../../../sidecar/http-framing.js";

const framing: Array<[string, HeaderList, RegExp | undefined]> = [
  ["no body headers", [["host", "a"]], undefined],
  ["one Content-Length", [["content-length", "12"]], undefined],
  ["repeated equal Content-Length", [["content-length", "12"], ["content-length", " 12 "]], undefined],
  ["chunked", [["transfer-encoding", " Chunked "]], undefined],
  ["CL + TE", [["content-length", "5"], ["transfer-encoding", "chunked"]], /both Content-Length and Transfer-Encoding/],
  ["TE before CL", [["transfer-encoding", "chunked"], ["content-length", "5"]], /both/],
  ["two TE headers", [["transfer-encoding", "chunked"], ["transfer-encoding", "chunked"]], /only Transfer-Encoding accepted/],
  ["gzip, chunked", [["transfer-encoding", "gzip, chunked"]], /only Transfer-Encoding accepted/],
  ["conflicting Content-Length", [["content-length", "5"], ["content-length", "6"]], /Content-Length is invalid/],
  ["signed Content-Length", [["content-length", "+5"]], /Content-Length is invalid/],
  ["list Content-Length", [["content-length", "5, 5"]], /Content-Length is invalid/],
  ["huge Content-Length", [["content-length", "1234567890123456"]], /Content-Length is invalid/],
];

for (const [name, headers, expected] of framing) {
  test(`framingProblem: ${name}`, () => {
    const problem = framingProblem(headers);
    if (expected === undefined) assert.equal(problem, undefined);
    else assert.match(problem ?? "", expected);
  });
}

test("endToEndHeaders drops hop-by-hop headers and those Connection names, keeping order", () => {
  const headers = headerList(["Host", "a", "Connection", "keep-alive, X-Secret-Hop", "X-Secret-Hop", "1", "Keep-Alive", "5", "TE", "trailers", "Accept", "*/*", "Proxy-Authorization", "Basic x", "Upgrade", "websocket"]);
  assert.deepEqual(endToEndHeaders(headers), [["host", "a"], ["accept", "*/*"]]);
});

test("endToEndHeaders with upgrade keeps the handshake's Connection: upgrade and Upgrade", () => {
  const headers = headerList(["Host", "a", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k"]);
  assert.deepEqual(endToEndHeaders(headers, { upgrade: true }), [["host", "a"], ["sec-websocket-key", "k"], ["connection", "upgrade"], ["upgrade", "websocket"]]);
  assert.deepEqual(endToEndHeaders(headers), [["host", "a"], ["sec-websocket-key", "k"]]);
});

test("flatHeaders keeps repeated names as separate pairs", () => {
  assert.deepEqual(flatHeaders([["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x", "y"]]), ["set-cookie", "a=1", "set-cookie", "b=2", "x", "y"]);
});

// [name, headers as received, the body changes length on the way, upstream framing headers]
const upstreamFraming: Array<[string, HeaderList, boolean, HeaderList]> = [
  ["no body", [["host", "a"]], false, []],
  ["no body, a length-changing swap", [["host", "a"]], true, []],
  ["Content-Length kept", [["content-length", " 12 "]], false, [["content-length", "12"]]],
  ["Content-Length, a length-changing swap: chunked", [["content-length", "12"]], true, [["transfer-encoding", "chunked"]]],
  ["Content-Length: 0, a length-changing swap: chunked", [["content-length", "0"]], true, [["transfer-encoding", "chunked"]]],
  // The hole of issue #20: Transfer-Encoding is hop-by-hop, yet the body must stay framed.
  ["chunked stays chunked", [["transfer-encoding", "chunked"]], false, [["transfer-encoding", "chunked"]]],
  ["chunked, a length-changing swap", [["transfer-encoding", "Chunked"]], true, [["transfer-encoding", "chunked"]]],
];

for (const [name, received, lengthChanges, expected] of upstreamFraming) {
  test(`withBodyFraming: ${name}`, () => {
    const forwarded = endToEndHeaders([["host", "a"], ...received]);
    const framed = withBodyFraming(forwarded, requestBodyFraming(received), { lengthChanges });
    assert.deepEqual(framed.filter(([header]) => header === "content-length" || header === "transfer-encoding"), expected);
    assert.deepEqual(framed[0], ["host", "a"]);
  });
}
