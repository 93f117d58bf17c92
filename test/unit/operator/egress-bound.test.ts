// The platform's bound on private egress (issue 14, finding 4; ADR 0004): pure decisions, as tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrWithin, egressRefusal, outsideBound, parseCidr } from "../../../operator/egress-bound.js";

test("parseCidr: address and prefix of either family, nothing else", () => {
  const cases: [string, ReturnType<typeof parseCidr>][] = [
    ["10.0.0.0/8", { address: "10.0.0.0", prefix: 8, family: "ipv4" }],
    ["10.217.0.1/32", { address: "10.217.0.1", prefix: 32, family: "ipv4" }],
    ["fd00::/8", { address: "fd00::", prefix: 8, family: "ipv6" }],
    ["10.0.0.1", undefined],
    ["10.0.0.0/33", undefined],
    ["999.1.1.1/8", undefined],
    ["::1/129", undefined],
    ["10.0.0.0/x", undefined],
    ["example.com/8", undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseCidr(text), want, text);
});

test("cidrWithin: the whole inner block lies in the outer one", () => {
  const cases: [string, string, boolean][] = [
    ["10.217.0.1/32", "10.217.0.1/32", true],
    ["10.217.0.1/32", "10.0.0.0/8", true],
    ["10.1.0.0/16", "10.0.0.0/8", true],
    ["10.0.0.5/8", "10.0.0.0/8", true],
    ["10.0.0.0/8", "10.1.0.0/16", false],
    ["0.0.0.0/0", "10.0.0.0/8", false],
    ["169.254.169.254/32", "10.0.0.0/8", false],
    ["11.0.0.0/8", "10.0.0.0/8", false],
    ["10.0.0.0/8", "fd00::/8", false],
    ["fd12::/16", "fd00::/8", true],
  ];
  for (const [inner, outer, want] of cases) assert.equal(cidrWithin(parseCidr(inner)!, parseCidr(outer)!), want, `${inner} in ${outer}`);
});

test("outsideBound: what a session may not open, against the platform's bound", () => {
  const cases: { name: string; ranges: string[]; bound: string[]; want: string[] }[] = [
    { name: "nothing asked", ranges: [], bound: [], want: [] },
    { name: "the default bound allows nothing: cloud metadata", ranges: ["169.254.169.254/32"], bound: [], want: ["169.254.169.254/32"] },
    { name: "the default bound allows nothing: everything", ranges: ["0.0.0.0/0"], bound: [], want: ["0.0.0.0/0"] },
    { name: "inside the bound", ranges: ["10.217.0.1/32"], bound: ["10.217.0.1/32"], want: [] },
    { name: "wider than the bound", ranges: ["10.0.0.0/8"], bound: ["10.217.0.1/32"], want: ["10.0.0.0/8"] },
    { name: "some in, some out, in order", ranges: ["10.1.2.0/24", "0.0.0.0/0", "192.168.0.0/16"], bound: ["10.0.0.0/8"], want: ["0.0.0.0/0", "192.168.0.0/16"] },
    { name: "an unparsable block is outside", ranges: ["10.0.0.1"], bound: ["10.0.0.0/8"], want: ["10.0.0.1"] },
    { name: "an unparsable bound allows nothing", ranges: ["10.0.0.0/8"], bound: ["ten"], want: ["10.0.0.0/8"] },
  ];
  for (const c of cases) assert.deepEqual(outsideBound(c.ranges, c.bound), c.want, c.name);
});

test("egressRefusal names the blocks, the bound and where it is set", () => {
  assert.match(egressRefusal(["169.254.169.254/32"], []), /169\.254\.169\.254\/32 is outside .*\(none; chart value egress\.allowPrivateBound/);
  assert.match(egressRefusal(["0.0.0.0/0", "10.0.0.0/8"], ["10.217.0.1/32"]), /0\.0\.0\.0\/0, 10\.0\.0\.0\/8 are outside .*\(10\.217\.0\.1\/32;/);
});
