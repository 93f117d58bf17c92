import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { unknownFields, parseInput } from "../../../session-api/http/validate.js";
import { refuseQueryToken } from "../../../session-api/http/authn.js";
import { parseStaticTokens } from "../../../session-api/auth/static-tokens.js";
import { ApiError, toApiError } from "../../../session-api/http/errors.js";
import { parseClientControl } from "../../../session-api/terminal/protocol.js";

test("unknownFields finds keys a schema stripped, at any depth", () => {
  const schema = z.object({ a: z.number(), b: z.array(z.object({ c: z.string() })).optional(), d: z.number().default(1) });
  const cases: Array<[unknown, string[]]> = [
    [{ a: 1 }, []],
    [{ a: 1, x: 2 }, ["x"]],
    [{ a: 1, b: [{ c: "k" }, { c: "k", y: 1 }] }, ["b[1].y"]],
  ];
  for (const [input, want] of cases) assert.deepEqual(unknownFields(input, schema.parse(input)), want);
  assert.throws(() => parseInput(schema, { a: 1, zz: 1 }, "body"), (err: ApiError) => err.kind === "BadRequest" && /body\.zz/.test(err.message));
  assert.throws(() => parseInput(schema, { a: "1" }, "body"), (err: ApiError) => err.details?.[0]?.path === "body.a");
});

test("refuseQueryToken", () => {
  for (const url of ["/x?token=a", "/x?ACCESS_TOKEN=a", "/x?a=1&jwt=z", "/x?authorization=Bearer%20z"]) {
    assert.throws(() => refuseQueryToken(url), /not accepted in the query string/, url);
  }
  for (const url of ["/x", "/x?mode=view", "/x?tailLines=3", undefined]) assert.doesNotThrow(() => refuseQueryToken(url));
});

test("parseStaticTokens", () => {
  const entries = parseStaticTokens("# dev tokens\n\nabcdefghijklmnop1,alice,dev,ops\n  qrstuvwxyz0123456,bob \n");
  assert.deepEqual(entries.map((e) => [e.token, e.identity.username, e.identity.groups]), [
    ["abcdefghijklmnop1", "alice", ["dev", "ops"]],
    ["qrstuvwxyz0123456", "bob", []],
  ]);
  assert.throws(() => parseStaticTokens("short,alice"), /line 1/);
  assert.throws(() => parseStaticTokens("ok\nabcdefghijklmnop1"), (err: Error) => /line 1/.test(err.message) && !err.message.includes("abcdefgh"));
});

test("toApiError keeps known kinds and hides unknown errors", () => {
  assert.equal(toApiError(new ApiError("Conflict", "x")).status, 409);
  assert.equal(toApiError(Object.assign(new Error("x"), { type: "entity.too.large" })).status, 413);
  const internal = toApiError(new Error("db password is hunter2"));
  assert.equal(internal.status, 500);
  assert.doesNotMatch(internal.message, /hunter2/);
});

test("parseClientControl accepts only well-formed resize messages", () => {
  assert.deepEqual(parseClientControl('{"type":"resize","cols":80,"rows":24}'), { type: "resize", cols: 80, rows: 24 });
  for (const bad of ["", "{", '{"type":"resize","cols":0,"rows":24}', '{"type":"resize","cols":80}', '{"type":"resize","cols":80,"rows":24,"x":1}', '{"type":"exec"}', "[]", '{"type":"resize","cols":1e9,"rows":2}']) {
    assert.equal(parseClientControl(bad), undefined, bad);
  }
});
