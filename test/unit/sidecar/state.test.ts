import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { buildState, retireValues, unexpired, withRetired, type RetiredValue } from "../../../sidecar/state.js";

const NOW = 1_000_000;
const LIMITS = { perCredential: 2, ms: 1000 };
const cred = (name: string, secret: string): { name: string; stub: string; secret: string } => ({ name, stub: `stub-${name}-000000000000`, secret });
const retired = (name: string, secret: string, until: number): RetiredValue => ({ credential: name, stub: `stub-${name}-000000000000`, secret, until });
const summary = (values: RetiredValue[]): string[] => values.map((value) => `${value.credential}:${value.secret}@${value.until - NOW}`);

const cases: Array<{ name: string; before: ReturnType<typeof cred>[]; retired: RetiredValue[]; after: ReturnType<typeof cred>[]; expect: string[] }> = [
  { name: "unchanged value retires nothing", before: [cred("a", "v1")], retired: [], after: [cred("a", "v1")], expect: [] },
  { name: "a rotation retires the previous value", before: [cred("a", "v1")], retired: [], after: [cred("a", "v2")], expect: ["a:v1@1000"] },
  {
    name: "a second rotation keeps both previous values, newest first",
    before: [cred("a", "v2")],
    retired: [retired("a", "v1", NOW + 400)],
    after: [cred("a", "v3")],
    expect: ["a:v2@1000", "a:v1@400"],
  },
  {
    name: "a third rotation drops the oldest (bounded per credential)",
    before: [cred("a", "v3")],
    retired: [retired("a", "v1", NOW + 100), retired("a", "v2", NOW + 400)],
    after: [cred("a", "v4")],
    expect: ["a:v3@1000", "a:v2@400"],
  },
  { name: "expired values are dropped", before: [cred("a", "v2")], retired: [retired("a", "v1", NOW)], after: [cred("a", "v2")], expect: [] },
  { name: "a value that is current again is not retired", before: [cred("a", "v2")], retired: [retired("a", "v1", NOW + 500)], after: [cred("a", "v1")], expect: ["a:v2@1000"] },
  { name: "a removed credential's value is retired too", before: [cred("a", "v1"), cred("b", "w1")], retired: [], after: [cred("b", "w1")], expect: ["a:v1@1000"] },
  {
    name: "bounds are per credential",
    before: [cred("a", "v3"), cred("b", "w3")],
    retired: [retired("a", "v2", NOW + 10), retired("b", "w2", NOW + 20), retired("b", "w1", NOW + 5)],
    after: [cred("a", "v4"), cred("b", "w4")],
    expect: ["a:v3@1000", "b:w3@1000", "b:w2@20", "a:v2@10"],
  },
  { name: "the same value retired twice is kept once", before: [cred("a", "v1")], retired: [retired("a", "v1", NOW + 300)], after: [cred("a", "v2")], expect: ["a:v1@1000"] },
];

for (const c of cases) {
  test(`retireValues: ${c.name}`, () => {
    assert.deepEqual(summary(retireValues({ before: c.before, retired: c.retired, after: c.after, now: NOW }, LIMITS)), c.expect);
  });
}

test("unexpired keeps the same array when nothing expired, and filters otherwise", () => {
  const values = [retired("a", "v1", NOW + 1), retired("a", "v2", NOW + 5)];
  assert.equal(unexpired(values, NOW), values);
  assert.deepEqual(summary([...unexpired(values, NOW + 1)]), ["a:v2@5"]);
});

test("after a rotation, responses are scrubbed of the previous value as well as the new one, until it expires", async () => {
  const config = parseSidecarConfig({
    egress: { allow: [] },
    credentials: [{ name: "gh", stub: "ghp_" + "stubSTUBstubSTUBstubSTUBstubSTUB0000", hosts: ["api.github.com"], source: { file: { path: "/unused" } } }],
    caDir: "/unused",
  });
  let value = "ghp_" + "firstFIRSTfirstFIRSTfirstFIRST000000";
  const reader = async (): Promise<string> => value;
  const first = await buildState(config, { reader, now: NOW });
  const oldValue = value;
  value = "ghp_" + "secondSECONDsecondSECONDsecond000000";
  const second = await buildState(config, { reader, previous: first, now: NOW + 10 });
  const echo = (state: typeof second, text: string): string => state.scrubber.scrubString(text);
  for (const secret of [oldValue, value]) {
    for (const reflected of [secret, Buffer.from(secret).toString("base64"), JSON.stringify(secret)]) {
      assert.ok(!echo(second, `echo ${reflected}`).includes(reflected), "a current or retired value survived scrubbing");
    }
  }
  assert.equal(second.retired.length, 1);
  const later = withRetired(second, unexpired(second.retired, NOW + 10 + 15 * 60_000));
  assert.equal(later.retired.length, 0);
  assert.ok(echo(later, oldValue).includes(oldValue), "an expired value should no longer be a scrub pattern");
  assert.ok(!echo(later, value).includes(value));
});

test("upstreamCaFile is read at load, its roots context is built on first use, once, and kept across retirements", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sidecar-state-"));
  const caFile = join(dir, "upstream-ca.crt");
  await writeFile(caFile, (await CertificateAuthority.create()).certificatePem);
  const config = (upstreamCaFile: string): ReturnType<typeof parseSidecarConfig> => parseSidecarConfig({ caDir: "/unused", upstreamCaFile });
  await assert.rejects(buildState(config(join(dir, "missing.crt"))), /cannot read upstreamCaFile .*missing\.crt/);
  const state = await buildState(config(caFile), { now: NOW });
  const roots = state.upstreamRoots;
  assert.ok(roots !== undefined, "upstreamCaFile should give the state its own roots");
  const context = roots.context;
  assert.equal(roots.context, context, "the roots context is built once per load, not per connection");
  assert.equal(withRetired(state, []).upstreamRoots, roots);
  assert.equal((await buildState(parseSidecarConfig({ caDir: "/unused" }), { now: NOW })).upstreamRoots, undefined);
});
