import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAuthority, verifyDestination, type DestinationClaims } from "../../../sidecar/destination.js";
import { ProxyError } from "../../../sidecar/errors.js";

test("parseAuthority", () => {
  assert.deepEqual(parseAuthority("api.github.com:443"), { host: "api.github.com", port: 443 });
  assert.deepEqual(parseAuthority("API.github.com."), { host: "api.github.com", port: undefined });
  assert.deepEqual(parseAuthority("[::1]:8443"), { host: "::1", port: 8443 });
  assert.deepEqual(parseAuthority("127.0.0.1:80"), { host: "127.0.0.1", port: 80 });
  for (const bad of ["", ":443", "a.com:0", "a.com:65536", "a.com:x", "[::1", "[a.com]:1", "a.com:443:1", "user@a.com", "a.com/x"]) {
    assert.equal(parseAuthority(bad), undefined, bad);
  }
});

const ok: Array<[string, DestinationClaims, { host: string; port: number }]> = [
  ["Host only", { host: "a.com", defaultPort: 80 }, { host: "a.com", port: 80 }],
  ["Host with port", { host: "a.com:8080", defaultPort: 80 }, { host: "a.com", port: 8080 }],
  ["CONNECT + SNI + Host", { connect: "a.com:443", sni: "a.com", host: "A.com", defaultPort: 443 }, { host: "a.com", port: 443 }],
  ["CONNECT port carries to Host without port", { connect: "a.com:8443", sni: "a.com", host: "a.com", defaultPort: 443 }, { host: "a.com", port: 8443 }],
  ["absolute-form + Host", { absolute: "a.com", host: "a.com", defaultPort: 80 }, { host: "a.com", port: 80 }],
  ["transparent TLS: SNI + Host", { sni: "a.com", host: "a.com", defaultPort: 443 }, { host: "a.com", port: 443 }],
];
for (const [name, claims, expected] of ok) {
  test(`verifyDestination accepts ${name}`, () => {
    assert.deepEqual(verifyDestination(claims), expected);
  });
}

const refused: Array<[string, DestinationClaims, string]> = [
  ["Host != SNI", { sni: "a.com", host: "b.com", defaultPort: 443 }, "misdirected"],
  ["CONNECT != Host", { connect: "a.com:443", host: "b.com", defaultPort: 443 }, "misdirected"],
  ["CONNECT != SNI", { connect: "a.com:443", sni: "b.com", defaultPort: 443 }, "misdirected"],
  ["absolute-form != Host", { absolute: "b.com", host: "a.com", defaultPort: 80 }, "misdirected"],
  ["CONNECT + absolute-form elsewhere", { connect: "a.com:443", sni: "a.com", absolute: "b.com", host: "a.com", defaultPort: 443 }, "misdirected"],
  ["port mismatch", { connect: "a.com:443", host: "a.com:444", defaultPort: 443 }, "misdirected"],
  ["SNI alone", { sni: "a.com", defaultPort: 443 }, "bad-request"],
  ["nothing", { defaultPort: 80 }, "bad-request"],
  ["garbage Host", { host: "a.com\r\nx", defaultPort: 80 }, "bad-request"],
  ["SNI with port", { host: "a.com", sni: "a.com:443", defaultPort: 443 }, "bad-request"],
  ["suffix trick", { sni: "a.com.evil.com", host: "a.com", defaultPort: 443 }, "misdirected"],
];
for (const [name, claims, kind] of refused) {
  test(`verifyDestination refuses ${name}`, () => {
    assert.throws(() => verifyDestination(claims), (error: unknown) => error instanceof ProxyError && error.kind === kind);
  });
}

test("remembered authorities answer like fresh ones, also past the memo's size and for malformed input", () => {
  for (let round = 0; round < 2; round++) {
    for (let index = 0; index < 300; index++) {
      assert.deepEqual(parseAuthority(`h${index}.example.test:${1000 + index}`), { host: `h${index}.example.test`, port: 1000 + index });
      assert.equal(parseAuthority(`bad_${index}..test`), undefined);
    }
    assert.deepEqual(parseAuthority("[::1]:443"), { host: "::1", port: 443 });
    assert.deepEqual(parseAuthority("API.Example.TEST."), { host: "api.example.test", port: undefined });
  }
  const remembered = parseAuthority("frozen.example.test:1");
  assert.ok(remembered !== undefined && Object.isFrozen(remembered), "a shared result cannot be changed by one caller for the next");
  assert.equal(parseAuthority(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}:1`)?.port, 1);
});
