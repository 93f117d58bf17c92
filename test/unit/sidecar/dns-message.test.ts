import { test } from "node:test";
import assert from "node:assert/strict";
import { addressBytes, buildResponse, decideQuery, parseQuery, QTYPE, RCODE, type DnsQuery } from "../../../sidecar/dns-message.js";

function query(name: string, type: number, options: { qclass?: number; opcode?: number; count?: number } = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x1234, 0);
  header.writeUInt16BE(((options.opcode ?? 0) << 11) | 0x0100, 2);
  header.writeUInt16BE(options.count ?? 1, 4);
  const labels = name.split(".").map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(options.qclass ?? 1, 2);
  return Buffer.concat([header, ...labels, Buffer.from([0]), tail]);
}

const allowed = (name: string): boolean => name === "api.github.com";

const decisions: Array<[string, Buffer, ReturnType<typeof decideQuery>]> = [
  ["allowed A", query("api.github.com", QTYPE.a), { rcode: 0, lookup: true, family: 4 }],
  ["allowed AAAA", query("api.github.com", QTYPE.aaaa), { rcode: 0, lookup: true, family: 6 }],
  ["allowed HTTPS record: no data", query("api.github.com", 65), { rcode: RCODE.noError, lookup: false }],
  ["unlisted name", query("evil.com", QTYPE.a), { rcode: RCODE.nxDomain, lookup: false }],
  ["exfiltration label", query("c2VjcmV0.evil.com", 16), { rcode: RCODE.nxDomain, lookup: false }],
  ["CHAOS class", query("api.github.com", QTYPE.a, { qclass: 3 }), { rcode: RCODE.refused, lookup: false }],
  ["inverse query", query("api.github.com", QTYPE.a, { opcode: 1 }), { rcode: RCODE.notImp, lookup: false }],
  ["two questions", query("api.github.com", QTYPE.a, { count: 2 }), { rcode: RCODE.formErr, lookup: false }],
];
for (const [name, message, expected] of decisions) {
  test(`decideQuery: ${name}`, () => {
    const parsed = parseQuery(message);
    assert.ok(parsed !== undefined && !("broken" in parsed));
    assert.deepEqual(decideQuery(parsed, allowed), expected);
  });
}

test("parseQuery rejects garbage", () => {
  assert.equal(parseQuery(Buffer.alloc(5)), undefined);
  const response = query("a.com", 1);
  response.writeUInt16BE(0x8000, 2);
  assert.equal(parseQuery(response), undefined);
  const pointer = Buffer.concat([query("a.com", 1).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  assert.deepEqual(parseQuery(pointer), { id: 0x1234, broken: true });
  assert.deepEqual(parseQuery(query("a.com", 1).subarray(0, 16)), { id: 0x1234, broken: true });
});

test("buildResponse echoes id and question and carries answers", () => {
  const parsed = parseQuery(query("api.github.com", QTYPE.a)) as DnsQuery;
  const reply = buildResponse(parsed, 0, [addressBytes("140.82.112.3", 4)]);
  assert.equal(reply.readUInt16BE(0), 0x1234);
  assert.equal(reply.readUInt16BE(2) & 0x800f, 0x8000);
  assert.equal(reply.readUInt16BE(6), 1);
  assert.deepEqual([...reply.subarray(-4)], [140, 82, 112, 3]);
});

test("addressBytes for IPv6", () => {
  assert.equal(addressBytes("2001:db8::1", 6).toString("hex"), "20010db8000000000000000000000001");
  assert.equal(addressBytes("::1", 6).toString("hex"), "00000000000000000000000000000001");
  assert.equal(addressBytes("fe80::1:2", 6).toString("hex"), "fe800000000000000000000000010002");
});
