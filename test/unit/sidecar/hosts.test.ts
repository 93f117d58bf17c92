import { test } from "node:test";
import assert from "node:assert/strict";
import { matchesPattern, normalizeHost, normalizePattern } from "../../../sidecar/hosts.js";

const hosts: Array<[string, string | undefined]> = [
  ["api.github.com", "api.github.com"],
  ["API.GitHub.COM", "api.github.com"],
  ["api.github.com.", "api.github.com"],
  ["localhost", "localhost"],
  ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ["bücher.example", undefined], // IDNA is rejected, not converted
  ["аpi.github.com", undefined], // Cyrillic "а"
  ["", undefined],
  [".", undefined],
  ["a..b", undefined],
  ["-a.com", undefined],
  ["a-.com", undefined],
  ["a_b.com", undefined],
  ["a.com..", undefined],
  ["10.0.0.1", undefined],
  ["evil.com\0.github.com", undefined],
  ["evil.com/.github.com", undefined],
  ["a".repeat(64) + ".com", undefined],
  [("a".repeat(60) + ".").repeat(5) + "com", undefined], // longer than 253
];
for (const [raw, expected] of hosts) {
  test(`normalizeHost(${JSON.stringify(raw)}) = ${String(expected)}`, () => {
    assert.equal(normalizeHost(raw), expected);
  });
}

const patterns: Array<[string, string | undefined]> = [
  ["*.github.com", "*.github.com"],
  ["*.GitHub.com.", "*.github.com"],
  ["*", undefined],
  ["*.", undefined],
  ["a.*.com", undefined],
  ["**.com", undefined],
];
for (const [raw, expected] of patterns) {
  test(`normalizePattern(${JSON.stringify(raw)}) = ${String(expected)}`, () => {
    assert.equal(normalizePattern(raw), expected);
  });
}

const matches: Array<[string, string, boolean]> = [
  ["api.github.com", "api.github.com", true],
  ["api.github.com", "*.github.com", true],
  ["a.b.github.com", "*.github.com", true],
  ["github.com", "*.github.com", false],
  ["evilgithub.com", "*.github.com", false],
  ["github.com.evil.com", "*.github.com", false],
  ["api.github.com", "github.com", false],
  ["github.com", "api.github.com", false],
];
for (const [host, pattern, expected] of matches) {
  test(`${host} ${expected ? "matches" : "does not match"} ${pattern}`, () => {
    assert.equal(matchesPattern(host, pattern), expected);
  });
}
