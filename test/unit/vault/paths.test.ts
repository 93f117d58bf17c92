import { test } from "node:test";
import assert from "node:assert/strict";
import { parseKvPath } from "../../../sidecar/vault/paths.js";

test("KV v2 paths: CLI and API forms map to one read path; unusable paths are explained", () => {
  const cases: Array<[string, { mount: string; name: string; readPath: string } | RegExp]> = [
    ["kv/agents/anthropic", { mount: "kv", name: "agents/anthropic", readPath: "kv/data/agents/anthropic" }],
    ["kv/data/agents/anthropic", { mount: "kv", name: "agents/anthropic", readPath: "kv/data/agents/anthropic" }],
    ["/kv/data/agents/anthropic/", { mount: "kv", name: "agents/anthropic", readPath: "kv/data/agents/anthropic" }],
    ["secret/github", { mount: "secret", name: "github", readPath: "secret/data/github" }],
    ["secret/data/data", { mount: "secret", name: "data", readPath: "secret/data/data" }],
    ["team-a/ns/session.key", { mount: "team-a", name: "ns/session.key", readPath: "team-a/data/ns/session.key" }],
    ["kv", /names a mount/],
    ["kv/data", /names a mount/],
    ["", /not a KV path/],
    ["kv//x", /empty/],
    ["kv/../sys/x", /"\.\."/],
    ["kv/a b", /letters, digits/],
    ["kv/a?version=1", /letters, digits/],
  ];
  for (const [raw, expected] of cases) {
    const parsed = parseKvPath(raw);
    if (expected instanceof RegExp) {
      assert.ok("error" in parsed, `${raw} is refused`);
      assert.match(parsed.error, expected, raw);
    } else {
      assert.deepEqual(parsed, expected, raw);
    }
  }
});
