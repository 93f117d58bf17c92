import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, resolveSettings } from "../../../cli/config.js";
import { CliError } from "../../../cli/errors.js";
import { EXIT } from "../../../cli/exit-codes.js";

const env = { AGENTBOX_URL: "https://agentbox.example.com/prefix", AGENTBOX_TOKEN: "tok-123" };

test("resolveSettings: flags win over the environment; namespace defaults to default", () => {
  const fromEnv = resolveSettings({}, env);
  assert.equal(fromEnv.server.href, "https://agentbox.example.com/prefix");
  assert.equal(fromEnv.namespace, "default");
  assert.deepEqual(fromEnv.token, { env: "tok-123" });
  const fromFlags = resolveSettings({ server: "http://127.0.0.1:8080", namespace: "team-a", tokenFile: "/t", caFile: "/ca" }, { ...env, AGENTBOX_NAMESPACE: "other", AGENTBOX_CA_FILE: "/env-ca" });
  assert.equal(fromFlags.server.origin, "http://127.0.0.1:8080");
  assert.equal(fromFlags.namespace, "team-a");
  assert.deepEqual(fromFlags.token, { file: "/t" });
  assert.equal(fromFlags.caFile, "/ca");
  assert.equal(resolveSettings({}, { ...env, AGENTBOX_NAMESPACE: "ns-env", AGENTBOX_CA_FILE: "/env-ca" }).caFile, "/env-ca");
});

test("resolveSettings refuses what cannot work, saying what to set", () => {
  const cases: [string, Record<string, string | undefined>, Record<string, string>, RegExp, number][] = [
    ["no server", { AGENTBOX_TOKEN: "t" }, {}, /set AGENTBOX_URL/, EXIT.config],
    ["not a URL", { ...env, AGENTBOX_URL: "agentbox.example.com" }, {}, /not a URL/, EXIT.config],
    ["wrong scheme", { ...env, AGENTBOX_URL: "ftp://x" }, {}, /https:\/\/ or http:\/\//, EXIT.config],
    ["token in the URL", { ...env, AGENTBOX_URL: "https://x/?token=abc" }, {}, /AGENTBOX_TOKEN/, EXIT.config],
    ["user info in the URL", { ...env, AGENTBOX_URL: "https://me:pw@x/" }, {}, /credentials/, EXIT.config],
    ["no token", { AGENTBOX_URL: "https://x" }, {}, /AGENTBOX_TOKEN or pass --token-file/, EXIT.config],
    ["blank token", { AGENTBOX_URL: "https://x", AGENTBOX_TOKEN: "  " }, {}, /no token/, EXIT.config],
    ["bad namespace", env, { namespace: "Team_A" }, /not a namespace/, EXIT.usage],
  ];
  for (const [name, e, flags, message, code] of cases) {
    assert.throws(() => resolveSettings(flags, e), (err: unknown) => err instanceof CliError && message.test(err.message) && err.exitCode === code, name);
  }
});

test("connect reads the token and CA files and never echoes the token in errors", async () => {
  const dir = await mkdtemp(join(tmpdir(), "agentbox-cli-"));
  await writeFile(join(dir, "token"), "file-token-xyz\n");
  await writeFile(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\n");
  const conn = await connect(resolveSettings({ tokenFile: join(dir, "token"), caFile: join(dir, "ca.crt") }, { AGENTBOX_URL: "https://x" }));
  assert.equal(conn.token, "file-token-xyz");
  assert.match(conn.ca ?? "", /BEGIN CERTIFICATE/);
  await assert.rejects(connect(resolveSettings({ tokenFile: join(dir, "missing") }, { AGENTBOX_URL: "https://x" })), /cannot read the token file .*missing \(ENOENT\)/);
  await writeFile(join(dir, "bad"), "two words");
  await assert.rejects(connect(resolveSettings({ tokenFile: join(dir, "bad") }, { AGENTBOX_URL: "https://x" })), (err: unknown) => err instanceof CliError && !err.message.includes("two words"));
});
