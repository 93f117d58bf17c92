import { test } from "node:test";
import assert from "node:assert/strict";
import { cryptoRandomChars, ensureStubs, makeStub, stubFormat, stubMatches } from "../../../operator/stubs.js";

const shapes: [Parameters<typeof makeStub>[0], RegExp][] = [
  ["anthropic", /^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/],
  ["openai", /^sk-proj-[A-Za-z0-9_-]{156}$/],
  ["github-classic", /^ghp_[A-Za-z0-9]{36}$/],
  ["github-fine-grained", /^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/],
  ["opaque", /^agentbox_[A-Za-z0-9]{40}$/],
];

for (const [format, shape] of shapes) {
  test(`stub ${format} has the real token's prefix, length and alphabet`, () => {
    const a = makeStub(format);
    assert.match(a, shape);
    assert.notEqual(a, makeStub(format));
    assert.ok(stubMatches(a, format));
  });
}

test("format is inferred from hosts when not given", () => {
  const rows: [string[], string | undefined, string][] = [
    [["api.anthropic.com"], undefined, "anthropic"],
    [["api.openai.com"], undefined, "openai"],
    [["github.com"], undefined, "github-classic"],
    [["*.github.com"], undefined, "github-classic"],
    [["github.com"], "github-fine-grained", "github-fine-grained"],
    [["internal.example"], undefined, "opaque"],
  ];
  for (const [hosts, format, expected] of rows) assert.equal(stubFormat({ hosts, format: format as never }), expected, hosts.join());
});

test("ensureStubs keeps existing stubs, adds new ones, drops removed ones, reshapes a changed format", () => {
  const first = ensureStubs({}, [{ name: "a", hosts: ["api.anthropic.com"] }, { name: "g", hosts: ["github.com"] }]);
  const second = ensureStubs({ ...first, gone: "x" }, [{ name: "a", hosts: ["api.anthropic.com"] }, { name: "g", hosts: ["github.com"], format: "github-fine-grained" }, { name: "n", hosts: ["x.example"] }]);
  assert.equal(second.a, first.a);
  assert.notEqual(second.g, first.g);
  assert.ok(second.g!.startsWith("github_pat_"));
  assert.ok(second.n!.startsWith("agentbox_"));
  assert.equal("gone" in second, false);
});

test("random characters are drawn from the whole alphabet only", () => {
  const s = cryptoRandomChars(4000, "abc");
  assert.equal(s.length, 4000);
  assert.match(s, /^[abc]+$/);
  for (const ch of "abc") assert.ok(s.split(ch).length - 1 > 1000);
});
