import { test } from "node:test";
import assert from "node:assert/strict";
import { credentialVolume, missingKeys, missingSecrets, secretRefs, type SecretRef } from "../../../operator/secret-refs.js";
import { session } from "./fixtures.js";
import { mergeTemplate } from "../../../crds/merge.js";

const refs: SecretRef[] = [
  { credential: "anthropic", name: "anthropic-real", key: "api_key" },
  { credential: "github", name: "gh", key: "token" },
];

test("secretRefs: only credentials read from a Secret, in order", () => {
  const s = session("s", {
    agent: { image: "x:1" },
    credentials: [
      { name: "anthropic", env: "A", hosts: ["api.anthropic.com"], source: { secretKeyRef: { name: "anthropic-real", key: "api_key" } } },
      { name: "vaulted", env: "V", hosts: ["v.example.com"], source: { vault: { path: "kv/data/x", key: "k" } } },
      { name: "github", env: "G", hosts: ["api.github.com"], source: { secretKeyRef: { name: "gh", key: "token" } } },
    ],
  });
  const merged = mergeTemplate(s.spec, undefined);
  assert.ok(merged.ok);
  assert.deepEqual(secretRefs(merged.spec), refs);
});

test("missingSecrets: names each reference that cannot be used, in the same words whether the Secret or the key is missing", () => {
  const cases: { label: string; exists: [string, boolean][]; keys: string[]; want: RegExp[] | undefined }[] = [
    { label: "all exist", exists: [["anthropic-real", true], ["gh", true]], keys: [], want: undefined },
    { label: "not looked up (API error) says nothing", exists: [], keys: [], want: undefined },
    { label: "one Secret missing", exists: [["anthropic-real", false], ["gh", true]], keys: [], want: [/credential anthropic: Secret anthropic-real key api_key is missing or not readable/, /namespace team-a/, /kubectl create secret generic/] },
    { label: "a key missing", exists: [["anthropic-real", true], ["gh", true]], keys: ["github"], want: [/credential github: Secret gh key token is missing or not readable/] },
    { label: "both", exists: [["anthropic-real", false], ["gh", true]], keys: ["github"], want: [/Secret anthropic-real key api_key is missing or not readable; credential github: Secret gh key token is missing or not readable/] },
  ];
  for (const c of cases) {
    const got = missingSecrets(refs, new Map(c.exists), new Set(c.keys), "team-a");
    if (c.want === undefined) assert.equal(got, undefined, c.label);
    else for (const re of c.want) assert.match(got ?? "", re, c.label);
  }
});

test("missingSecrets: a prober cannot tell a missing Secret from a missing key (issue 14)", () => {
  const one: SecretRef[] = [{ credential: "probe", name: "db-password", key: "password" }];
  const secretMissing = missingSecrets(one, new Map([["db-password", false]]), new Set(), "team-a");
  const keyMissing = missingSecrets(one, new Map([["db-password", true]]), new Set(["probe"]), "team-a");
  assert.ok(secretMissing);
  assert.equal(secretMissing, keyMissing);
  assert.doesNotMatch(secretMissing, /not found|has no key|exists/);
});

test("missingKeys: read from the kubelet's FailedMount messages, by the credential's volume", () => {
  const cases: [string, string[], string[]][] = [
    ["no events", [], []],
    ["missing key of one volume", [`MountVolume.SetUp failed for volume "${credentialVolume("github")}" : references non-existent secret key: token`], ["github"]],
    ["a missing Secret is not a missing key", [`MountVolume.SetUp failed for volume "cred-anthropic" : secret "anthropic-real" not found`], []],
    ["another volume", [`MountVolume.SetUp failed for volume "sidecar-config" : references non-existent secret key: x`], []],
  ];
  for (const [label, messages, want] of cases) assert.deepEqual([...missingKeys(refs, messages)], want, label);
});
