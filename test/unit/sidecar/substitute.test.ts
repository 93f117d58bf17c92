import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyError } from "../../../sidecar/errors.js";
import type { BoundCredential } from "../../../sidecar/policy.js";
import { decodeBasic, substituteHeaders, type SubstitutionInput } from "../../../sidecar/substitute.js";

const anthropic: BoundCredential = {
  name: "anthropic", stub: "sk-ant-api03-STUBSTUBSTUBSTUB", secret: "sk-ant-api03-REALREALREALREAL",
  hosts: ["api.anthropic.com"], headers: new Set(["x-api-key", "authorization"]), body: false,
};
const github: BoundCredential = {
  name: "github", stub: "ghp_STUBSTUBSTUBSTUBSTUB", secret: "ghp_REALREALREALREALREAL",
  hosts: ["*.github.com"], headers: new Set(["authorization"]), body: false,
};
const credentials = [anthropic, github];
const basic = (text: string): string => `Basic ${Buffer.from(text).toString("base64")}`;

function run(overrides: Partial<SubstitutionInput>): ReturnType<typeof substituteHeaders> {
  return substituteHeaders({ host: "api.anthropic.com", tls: true, target: "/v1/messages", headers: [], credentials, ...overrides });
}

const swaps: Array<[string, Partial<SubstitutionInput>, Array<[string, string]>, string[]]> = [
  ["x-api-key", { headers: [["x-api-key", anthropic.stub]] }, [["x-api-key", anthropic.secret]], ["anthropic"]],
  ["bearer", { headers: [["authorization", `Bearer ${anthropic.stub}`]] }, [["authorization", `Bearer ${anthropic.secret}`]], ["anthropic"]],
  ["git basic auth", { host: "api.github.com", headers: [["authorization", basic(`x-access-token:${github.stub}`)]] },
    [["authorization", basic(`x-access-token:${github.secret}`)]], ["github"]],
  ["basic auth as user", { host: "codeload.github.com", headers: [["authorization", basic(`${github.stub}:x-oauth-basic`)]] },
    [["authorization", basic(`${github.secret}:x-oauth-basic`)]], ["github"]],
  ["header not allowed: left as stub", { headers: [["x-other", anthropic.stub]] }, [["x-other", anthropic.stub]], []],
  ["stub in URL of bound host: left", { target: `/?k=${anthropic.stub}` }, [], []],
  ["no stub", { headers: [["accept", "*/*"]] }, [["accept", "*/*"]], []],
];
for (const [name, input, headers, used] of swaps) {
  test(`substituteHeaders swaps: ${name}`, () => {
    const result = run(input);
    assert.deepEqual(result.headers, headers);
    assert.deepEqual(result.used, used);
  });
}

const refusals: Array<[string, Partial<SubstitutionInput>, RegExp]> = [
  ["stub to unbound host", { host: "evil.example", headers: [["x-api-key", anthropic.stub]] }, /"anthropic".*evil\.example/],
  ["other credential's stub", { headers: [["authorization", `token ${github.stub}`]] }, /"github".*api\.anthropic\.com/],
  ["stub in basic auth to unbound host", { host: "evil.example", headers: [["authorization", basic(`x:${github.stub}`)]] }, /"github"/],
  ["stub in a non-inject header to unbound host", { host: "evil.example", headers: [["x-foo", anthropic.stub]] }, /x-foo header/],
  ["stub in URL to unbound host", { host: "evil.example", target: `/?k=${anthropic.stub}` }, /the URL/],
  ["plain HTTP", { tls: false, headers: [["x-api-key", anthropic.stub]] }, /only sent over TLS/],
];
for (const [name, input, message] of refusals) {
  test(`substituteHeaders refuses: ${name}`, () => {
    assert.throws(() => run(input), (error: unknown) => {
      assert.ok(error instanceof ProxyError);
      assert.equal(error.kind, "forbidden");
      assert.match(error.message, message);
      assert.ok(!error.message.includes("REAL"), "error must not carry a real value");
      return true;
    });
  });
}

test("decodeBasic", () => {
  assert.equal(decodeBasic(basic("a:b")), "a:b");
  assert.equal(decodeBasic(`basic  ${Buffer.from("u:p").toString("base64")}`), "u:p");
  assert.equal(decodeBasic("Bearer abc"), undefined);
  assert.equal(decodeBasic(basic("nocolon")), undefined);
});
