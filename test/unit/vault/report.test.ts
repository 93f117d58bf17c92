import { test } from "node:test";
import assert from "node:assert/strict";
import type { Unresolved } from "../../../sidecar/vault/credentials.js";
import { credentialsReport } from "../../../sidecar/vault/report.js";

const denied: Unresolved = { name: "github", reason: "PermissionDenied", message: "permission denied reading kv/agents/github" };
const missing: Unresolved = { name: "anthropic", reason: "PathMissing", message: "no secret at kv/agents/anthropic (404)" };
const unreachable = (code: string): Unresolved => ({ name: "anthropic", reason: "Unreachable", message: `Vault is unreachable (${code})` });

test("a line is written only when the set of unresolved credentials or a reason changes", () => {
  // [what, previous verdict, now, expected event (undefined: nothing written)]
  const rows: Array<[string, Unresolved[] | undefined, Unresolved[], string | undefined]> = [
    ["first verdict, all resolved", undefined, [], "credentials-resolved"],
    ["first verdict, one unresolved", undefined, [denied], "credentials-unresolved"],
    ["unchanged", [denied], [denied], undefined],
    ["same set in another order", [denied, missing], [missing, denied], undefined],
    ["one more unresolved", [denied], [denied, missing], "credentials-unresolved"],
    ["a reason changed", [missing], [unreachable("ECONNREFUSED")], "credentials-unresolved"],
    ["only the message's detail changed", [unreachable("ECONNREFUSED")], [unreachable("ETIMEDOUT")], undefined],
    ["all resolved again", [denied], [], "credentials-resolved"],
    ["still all resolved", [], [], undefined],
  ];
  for (const [what, previous, now, expected] of rows) {
    const previousKey = previous === undefined ? undefined : credentialsReport(undefined, previous)?.key;
    assert.equal(credentialsReport(previousKey, now)?.line.event, expected, what);
  }
});

test("the unresolved line names each credential with its reason and message, sorted by name", () => {
  const report = credentialsReport(undefined, [denied, missing]);
  assert.deepEqual(report?.line, {
    event: "credentials-unresolved",
    unresolved: [
      { credential: "anthropic", reason: "PathMissing", message: "no secret at kv/agents/anthropic (404)" },
      { credential: "github", reason: "PermissionDenied", message: "permission denied reading kv/agents/github" },
    ],
  });
});
