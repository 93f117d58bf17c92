// A Secret's own allowed-hosts rule (issue 14, finding 1; ADR 0004): pure decisions, as tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkCredentialSecrets, hostsOutside, parseAllowedHosts, patternCovers, type SecretLookup } from "../../../operator/credential-rules.js";
import { mergeTemplate } from "../../../crds/merge.js";
import { session } from "./fixtures.js";

test("parseAllowedHosts: comma-separated patterns, normalised; an invalid entry only narrows", () => {
  const cases: [string, string[]][] = [
    ["api.anthropic.com", ["api.anthropic.com"]],
    [" api.github.com , *.githubusercontent.com ", ["api.github.com", "*.githubusercontent.com"]],
    ["API.Example.COM.", ["api.example.com"]],
    ["", []],
    [",,", []],
    ["not a host, api.example.com", ["api.example.com"]],
    ["*", []],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseAllowedHosts(text), want, JSON.stringify(text));
});

test("patternCovers: the matching hosts uses, applied to patterns", () => {
  const cases: [string, string, boolean][] = [
    ["api.example.com", "api.example.com", true],
    ["api.example.com", "evil.example.com", false],
    ["*.example.com", "api.example.com", true],
    ["*.example.com", "a.b.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "*.example.com", true],
    ["*.example.com", "*.api.example.com", true],
    ["api.example.com", "*.example.com", false],
    ["*.api.example.com", "*.example.com", false],
    ["*.example.com", "badexample.com", false],
    ["*.example.com", "example.com.evil.test", false],
  ];
  for (const [allowed, host, want] of cases) assert.equal(patternCovers(allowed, host), want, `${allowed} covers ${host}`);
});

test("hostsOutside: the credential's hosts no allowed pattern covers", () => {
  assert.deepEqual(hostsOutside(["api.anthropic.com"], ["api.anthropic.com"]), []);
  assert.deepEqual(hostsOutside(["api.anthropic.com", "attacker.example"], ["api.anthropic.com"]), ["attacker.example"]);
  assert.deepEqual(hostsOutside(["*.github.com"], ["api.github.com"]), ["*.github.com"], "a wildcard is wider than one name");
  assert.deepEqual(hostsOutside(["api.github.com"], []), ["api.github.com"], "an empty rule allows nothing");
});

const spec = (credentials: Record<string, unknown>[]): ReturnType<typeof mergeTemplate> => mergeTemplate(session("s", { agent: { image: "a:1" }, credentials }).spec, undefined);
const cred = (name: string, secret: string, hosts: string[]): Record<string, unknown> => ({ name, env: name.toUpperCase(), hosts, source: { secretKeyRef: { name: secret, key: "k" } } });

test("checkCredentialSecrets: a Secret's rule is never widened; a missing Secret is reported, not allowed", () => {
  const found = (allowedHosts?: string): SecretLookup => ({ state: "found", allowedHosts });
  const cases: { name: string; creds: Record<string, unknown>[]; lookups: [string, SecretLookup][]; notAllowed: RegExp[]; missing: string[] }[] = [
    { name: "no rule: any hosts", creds: [cred("a", "s1", ["attacker.example"])], lookups: [["s1", found()]], notAllowed: [], missing: [] },
    { name: "covered", creds: [cred("a", "s1", ["api.anthropic.com"])], lookups: [["s1", found("api.anthropic.com")]], notAllowed: [], missing: [] },
    {
      name: "a host outside the rule refuses the credential, naming it, the Secret, the rule and the host",
      creds: [cred("a", "s1", ["api.anthropic.com", "attacker.example"])],
      lookups: [["s1", found("api.anthropic.com")]],
      notAllowed: [/^credential a: Secret s1 may be sent only to api\.anthropic\.com \(its annotation agentbox\.dev\/allowed-hosts\), not to attacker\.example;/],
      missing: [],
    },
    { name: "an empty rule allows nothing", creds: [cred("a", "s1", ["api.anthropic.com"])], lookups: [["s1", found(" ")]], notAllowed: [/may be sent only to no host/], missing: [] },
    { name: "each credential on its own Secret's rule", creds: [cred("a", "s1", ["a.example"]), cred("b", "s2", ["b.example"])], lookups: [["s1", found("a.example")], ["s2", found("a.example")]], notAllowed: [/^credential b:/], missing: [] },
    { name: "a missing Secret", creds: [cred("a", "gone", ["a.example"])], lookups: [["gone", { state: "missing" }]], notAllowed: [], missing: ["a"] },
  ];
  for (const c of cases) {
    const merged = spec(c.creds);
    assert.ok(merged.ok, c.name);
    const v = checkCredentialSecrets(merged.spec, new Map(c.lookups));
    assert.equal(v.notAllowed.length, c.notAllowed.length, `${c.name}: ${v.notAllowed.join(" | ")}`);
    c.notAllowed.forEach((re, i) => assert.match(v.notAllowed[i]!, re, c.name));
    assert.deepEqual(v.missing.map((m) => m.credential), c.missing, c.name);
  }
});

test("checkCredentialSecrets: Vault credentials have no Secret rule", () => {
  const merged = spec([{ name: "v", env: "V", hosts: ["x.example"], source: { vault: { path: "kv/x", key: "k" } } }]);
  assert.ok(merged.ok);
  assert.deepEqual(checkCredentialSecrets(merged.spec, new Map()), { notAllowed: [], missing: [] });
});
