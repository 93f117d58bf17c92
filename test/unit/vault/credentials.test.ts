import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import type { KvValue } from "../../../sidecar/vault/client.js";
import { VaultCredentials, type KvReader } from "../../../sidecar/vault/credentials.js";

const config = parseSidecarConfig({
  credentials: [
    { name: "anthropic", stub: "sk-ant-api03-" + "stubstubstubstub0000", hosts: ["api.anthropic.com"], source: { vault: { path: "kv/agents/anthropic", key: "api_key" } } },
    { name: "github", stub: "ghp_" + "stubstubstubstubstub1111", hosts: ["api.github.com"], source: { vault: { path: "kv/agents/github", key: "token" } } },
  ],
  vault: { address: "http://127.0.0.1:1", auth: { token: { file: "/dev/null" } }, retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 150 } },
});

type Answer = string | { status: number } | { code: string };

/** Answers reads from a per-path script (last answer repeats); records the calls. */
function scripted(script: Record<string, Answer[]>): KvReader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    readKv: async (path: string): Promise<KvValue> => {
      calls.push(path);
      const answers = script[path] ?? [{ status: 404 }];
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (typeof answer === "string") return { value: answer, version: 1 };
      if (answer === undefined) throw new Error("empty script");
      if ("status" in answer) throw Object.assign(new Error(`Status ${answer.status}`), { response: { statusCode: answer.status, body: { errors: [] } } });
      throw Object.assign(new Error(answer.code), { code: answer.code });
    },
    close: () => undefined,
  };
}

test("transient failures are retried on the backoff schedule; definitive ones are not", async () => {
  const waits: number[] = [];
  const client = scripted({ "kv/agents/anthropic": [{ code: "ECONNREFUSED" }, { status: 503 }, "real-1"], "kv/agents/github": [{ status: 403 }] });
  const vault = await VaultCredentials.create(config, { client, delay: async (ms) => void waits.push(ms) });
  assert.deepEqual(waits, [100, 150]);
  assert.equal(client.calls.filter((path) => path === "kv/agents/github").length, 1, "a denial is not retried");
  assert.deepEqual(vault.usable().credentials.map((credential) => credential.name), ["anthropic"]);
  assert.equal(await vault.reader(config.credentials[0]!.source, "anthropic"), "real-1");
  await assert.rejects(vault.reader(config.credentials[1]!.source, "github"), /credential "github": permission denied reading kv\/agents\/github/);
  assert.match(vault.readiness() ?? "", /^credential "github" PermissionDenied: permission denied/);
  vault.stop();
});

test("after a success: a transient failure keeps the value, a definitive one drops it, a rotation is reported", async () => {
  const client = scripted({ "kv/agents/anthropic": ["real-1", { code: "ECONNREFUSED" }, { code: "ECONNREFUSED" }, { code: "ECONNREFUSED" }, "real-2", { status: 404 }], "kv/agents/github": ["gh-1"] });
  const vault = await VaultCredentials.create(config, { client, delay: async () => undefined });
  assert.equal(vault.readiness(), undefined);
  const rows: Array<[string, boolean, string | undefined, RegExp | undefined]> = [
    // [what, changed, value now, readiness]
    ["unreachable three times: last good value kept, still ready", false, "real-1", undefined],
    ["rotated", true, "real-2", undefined],
    ["path deleted: value dropped, unready", true, undefined, /credential "anthropic" PathMissing: no secret at kv\/agents\/anthropic/],
  ];
  for (const [what, changed, value, readiness] of rows) {
    assert.equal(await vault.refresh(), changed, what);
    const read = vault.reader(config.credentials[0]!.source, "anthropic");
    if (value === undefined) await assert.rejects(read, what);
    else assert.equal(await read, value, what);
    if (readiness === undefined) assert.equal(vault.readiness(), undefined, what);
    else assert.match(vault.readiness() ?? "", readiness, what);
  }
  vault.stop();
});
