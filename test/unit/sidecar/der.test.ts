import { test } from "node:test";
import assert from "node:assert/strict";
import { bitString, ecdsaSignatureToDer, oid, sequence, smallInteger, time, tlv, unsignedInteger } from "../../../sidecar/der.js";

const hex = (buffer: Buffer): string => buffer.toString("hex");

const cases: Array<[string, Buffer, string]> = [
  ["OID ecdsa-with-SHA256", oid("1.2.840.10045.4.3.2"), "06082a8648ce3d040302"],
  ["OID commonName", oid("2.5.4.3"), "0603550403"],
  ["OID serverAuth", oid("1.3.6.1.5.5.7.3.1"), "06082b06010505070301"],
  ["INTEGER 0", smallInteger(0), "020100"],
  ["INTEGER 2", smallInteger(2), "020102"],
  ["INTEGER with high bit gets a zero byte", unsignedInteger(Buffer.from([0x80, 1])), "0203008001"],
  ["INTEGER leading zeros trimmed", unsignedInteger(Buffer.from([0, 0, 5])), "020105"],
  ["BIT STRING keyUsage digitalSignature", bitString(Buffer.from([0x80]), 7), "03020780"],
  ["empty SEQUENCE", sequence(), "3000"],
  ["long form length", tlv(0x04, Buffer.alloc(200)).subarray(0, 3), "0481c8"],
  ["two-byte long form", tlv(0x04, Buffer.alloc(300)).subarray(0, 4), "0482012c"],
  ["UTCTime", time(new Date("2026-11-25T18:00:00Z")), "170d3236313132353138303030305a"],
  ["GeneralizedTime after 2049", time(new Date("2050-01-01T00:00:00Z")), "180f32303530303130313030303030305a"],
];
for (const [name, actual, expected] of cases) {
  test(`DER: ${name}`, () => {
    assert.equal(hex(actual), expected);
  });
}

test("ECDSA r||s becomes SEQUENCE of two INTEGERs", () => {
  const raw = Buffer.concat([Buffer.alloc(32, 0x81), Buffer.concat([Buffer.alloc(1), Buffer.alloc(31, 0x01)])]);
  const der = ecdsaSignatureToDer(raw);
  assert.equal(der[0], 0x30);
  assert.equal(hex(der.subarray(2, 5)), "022100"); // r: high bit set, zero-padded
  assert.equal(hex(der.subarray(37, 39)), "021f"); // s: leading zero dropped
});
