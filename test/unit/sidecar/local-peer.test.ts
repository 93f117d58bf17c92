import { test } from "node:test";
import assert from "node:assert/strict";
import { isLoopback, LocalPeers } from "../../../sidecar/local-peer.js";

const loopbackTable: Array<[string, boolean]> = [
  ["127.0.0.1", true],
  ["127.255.0.9", true],
  ["::1", true],
  ["::ffff:127.0.0.1", true],
  ["::FFFF:127.0.0.1", true],
  ["10.0.0.7", false],
  ["::ffff:10.0.0.7", false],
  ["fd00::1", false],
  ["0.0.0.0", false],
  ["::", false],
  ["not an address", false],
];

for (const [address, expected] of loopbackTable) {
  test(`isLoopback(${address}) is ${expected}`, () => assert.equal(isLoopback(address), expected));
}

test("LocalPeers: loopback and the namespace's own addresses are local, others are not", () => {
  const peers = new LocalPeers(() => new Set(["10.1.2.3", "fd00:ab::1"]));
  for (const address of ["127.0.0.1", "::1", "10.1.2.3", "::ffff:10.1.2.3", "fd00:ab::1"]) assert.equal(peers.isLocal(address), true, address);
  for (const address of ["10.1.2.4", "fd00:ab::2", undefined]) assert.equal(peers.isLocal(address), false, String(address));
});

test("LocalPeers re-reads the addresses on an unknown peer at most once a second", () => {
  let reads = 0;
  let own = new Set<string>();
  const peers = new LocalPeers(() => {
    reads += 1;
    return own;
  });
  own = new Set(["10.9.9.9"]);
  assert.equal(peers.isLocal("10.9.9.9"), false, "read a moment ago: not yet");
  assert.equal(reads, 1);
});
