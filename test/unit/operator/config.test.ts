import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, HELP } from "../../../operator/config.js";
import { leaseVerdict } from "../../../operator/leader.js";

test("config: defaults, env, flags over env", () => {
  const d = loadConfig({}, []);
  assert.equal(d.platformImage, "agentbox/platform:dev");
  assert.equal(d.workers, 64);
  assert.equal(d.leaderElection, true);
  assert.deepEqual(d.extraEgress, []);
  const c = loadConfig({ AGENTBOX_WATCH_NAMESPACE: "a", AGENTBOX_WORKERS: "8", AGENTBOX_EXTRA_EGRESS: '[{"ports":[{"port":8200}]}]' }, ["--namespace", "b", "--leader-elect=false", "--metrics-port=0"]);
  assert.equal(c.namespace, "b");
  assert.equal(c.workers, 8);
  assert.equal(c.leaderElection, false);
  assert.equal(c.metricsPort, 0);
  assert.equal(c.extraEgress.length, 1);
});

test("config: bad settings are all reported, by name", () => {
  assert.throws(() => loadConfig({ AGENTBOX_WORKERS: "0", AGENTBOX_EXTRA_EGRESS: "{", AGENTBOX_VAULT_ADDR: "not a url" }, []), (e: Error) => /workers/.test(e.message) && /extraEgress: must be a JSON array/.test(e.message) && /vaultAddress/.test(e.message));
  assert.throws(() => loadConfig({}, ["--nope"]), /unknown flag --nope/);
  assert.throws(() => loadConfig({}, ["--namespace"]), /needs a value/);
});

test("config: the platform rules of ADR 0004: secure defaults, JSON bound, bad values refused", () => {
  const d = loadConfig({}, []);
  assert.equal(d.requireTemplate, false);
  assert.deepEqual(d.allowPrivateBound, [], "no private range unless the platform allows one");
  const c = loadConfig({ AGENTBOX_REQUIRE_TEMPLATE: "true", AGENTBOX_ALLOW_PRIVATE_BOUND: '["10.217.0.1/32","fd00::/8"]' }, []);
  assert.equal(c.requireTemplate, true);
  assert.deepEqual(c.allowPrivateBound, ["10.217.0.1/32", "fd00::/8"]);
  for (const bad of ['["10.0.0.1"]', "10.0.0.0/8", "[8]", "{"]) assert.throws(() => loadConfig({ AGENTBOX_ALLOW_PRIVATE_BOUND: bad }, []), /allowPrivateBound: must be a JSON array of CIDR blocks/, bad);
  assert.throws(() => loadConfig({ AGENTBOX_REQUIRE_TEMPLATE: "yes" }, []), /requireTemplate/);
});

test("--help lists every setting with its env var", () => {
  for (const v of ["AGENTBOX_PLATFORM_IMAGE", "AGENTBOX_WORKERS", "POD_NAMESPACE", "LOG_LEVEL", "AGENTBOX_REQUIRE_TEMPLATE", "AGENTBOX_ALLOW_PRIVATE_BOUND"]) assert.ok(HELP.includes(v), v);
});

test("lease verdicts", () => {
  const now = new Date("2026-01-01T00:00:30Z");
  const spec = (holder: string, renewed: string): Record<string, unknown> => ({ holderIdentity: holder, renewTime: new Date(renewed), leaseDurationSeconds: 15 });
  const rows: [string, Record<string, unknown> | undefined, string][] = [
    ["no lease", undefined, "acquire"],
    ["released", spec("", "2026-01-01T00:00:29Z"), "acquire"],
    ["mine", spec("me", "2026-01-01T00:00:00Z"), "renew"],
    ["another's, fresh", spec("other", "2026-01-01T00:00:20Z"), "wait"],
    ["another's, expired", spec("other", "2026-01-01T00:00:10Z"), "acquire"],
  ];
  for (const [name, s, expected] of rows) assert.equal(leaseVerdict(s as never, "me", now), expected, name);
});
