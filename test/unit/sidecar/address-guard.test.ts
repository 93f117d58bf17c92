import { test } from "node:test";
import assert from "node:assert/strict";
import { allowListFrom, refusedAddress, unmapAddress } from "../../../sidecar/address-guard.js";

const none = allowListFrom([]);
const cases: Array<[string, boolean]> = [
  ["8.8.8.8", true],
  ["140.82.112.3", true],
  ["2606:4700::1111", true],
  ["127.0.0.1", false],
  ["127.1.2.3", false],
  ["0.0.0.0", false],
  ["10.1.2.3", false],
  ["172.16.0.1", false],
  ["172.31.255.255", false],
  ["172.32.0.1", true],
  ["192.168.1.1", false],
  ["100.64.0.1", false],
  ["169.254.169.254", false],
  ["169.254.1.1", false],
  ["224.0.0.1", false],
  ["255.255.255.255", false],
  ["::1", false],
  ["::", false],
  ["fe80::1", false],
  ["fd00::1", false],
  ["fd00:ec2::254", false],
  ["ff02::1", false],
  ["::ffff:127.0.0.1", false],
  ["::ffff:7f00:1", false],
  ["0:0:0:0:0:ffff:a9fe:a9fe", false], // 169.254.169.254
  ["::ffff:8.8.8.8", true],
  ["not-an-ip", false],
];
for (const [address, allowed] of cases) {
  test(`${address} is ${allowed ? "allowed" : "refused"} by default`, () => {
    assert.equal(refusedAddress(address, none) === undefined, allowed);
  });
}

test("allowPrivate opens only its ranges, also for mapped addresses", () => {
  const loopback = allowListFrom(["127.0.0.0/8", "fd00::/8"]);
  assert.equal(refusedAddress("127.0.0.1", loopback), undefined);
  assert.equal(refusedAddress("::ffff:127.0.0.1", loopback), undefined);
  assert.equal(refusedAddress("fd12::1", loopback), undefined);
  assert.match(refusedAddress("10.0.0.1", loopback) ?? "", /allowPrivate/);
  assert.notEqual(refusedAddress("169.254.169.254", loopback), undefined);
  assert.equal(refusedAddress("10.0.0.1", allowListFrom(["10.0.0.1"])), undefined);
});

test("unmapAddress", () => {
  assert.equal(unmapAddress("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(unmapAddress("::ffff:0a00:0001"), "10.0.0.1");
  assert.equal(unmapAddress("::1"), "::1");
  assert.equal(unmapAddress("1.2.3.4"), "1.2.3.4");
});
