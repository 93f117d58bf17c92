import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHostsFile, staticResolver } from "../../../sidecar/static-resolver.js";

test("parseHostsFile: names and aliases, comments and blank lines skipped, names normalized", () => {
  const text = "# air-gapped upstreams\n\n10.0.0.5  API.example.test.  alias.example.test # the API\nfd00::5 api.example.test\n";
  assert.deepEqual(parseHostsFile(text), [
    { host: "api.example.test", address: "10.0.0.5" },
    { host: "alias.example.test", address: "10.0.0.5" },
    { host: "api.example.test", address: "fd00::5" },
  ]);
});

const malformed: Array<[string, RegExp]> = [
  ["not-an-address name.test", /line 1: expected "address name/],
  ["10.0.0.1", /line 1: expected "address name/],
  ["\n10.0.0.1 bad_name!", /line 2: "bad_name!" is not a DNS name/],
];
for (const [text, expected] of malformed) {
  test(`parseHostsFile refuses ${JSON.stringify(text)}`, () => assert.throws(() => parseHostsFile(text), expected));
}

test("staticResolver answers listed names in order, any case, and others from the fallback", async () => {
  const fallback = async (host: string): Promise<Array<{ address: string; family: 4 | 6 }>> => [{ address: `fallback-${host}`, family: 4 }];
  const resolve = staticResolver([{ host: "a.test", address: "10.0.0.1" }, { host: "a.test", address: "fd00::1" }], fallback);
  assert.deepEqual(await resolve("A.TEST"), [{ address: "10.0.0.1", family: 4 }, { address: "fd00::1", family: 6 }]);
  assert.deepEqual(await resolve("b.test"), [{ address: "fallback-b.test", family: 4 }]);
});
