import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../../session-api/config.js";

const ok = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseConfig(argv, env);
  assert.equal(parsed.help, false);
  return (parsed as Extract<typeof parsed, { help: false }>).config;
};

test("flags as the Helm chart passes them", () => {
  const config = ok(
    ["--port=9000", "--allowed-origin=https://agentbox.example.com/", "--allowed-origin=http://localhost:3000", "--auth-kubernetes", "--oidc-issuer=https://id.example.com", "--oidc-audience=agentbox", "--oidc-username-claim=email"],
    { LOG_LEVEL: "debug" },
  );
  assert.equal(config.port, 9000);
  assert.deepEqual(config.allowedOrigins, ["https://agentbox.example.com", "http://localhost:3000"]);
  assert.equal(config.authKubernetes, true);
  assert.equal(config.oidc?.usernameClaim, "email");
  assert.equal(config.oidc?.groupsClaim, "groups");
  assert.equal(config.logLevel, "debug");
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.recordingsDir, undefined, "nothing is recorded unless asked");
});

test("recordings", () => {
  const config = ok(["--auth-kubernetes", "--recordings-dir=/var/lib/agentbox/casts", "--recording-max-bytes=1048576"]);
  assert.equal(config.recordingsDir, "/var/lib/agentbox/casts");
  assert.equal(config.recordingMaxBytes, 1 << 20);
  assert.equal(ok(["--auth-kubernetes"]).recordingMaxBytes, 64 << 20);
});

test("--help", () => {
  assert.deepEqual(parseConfig(["--help"], {}), { help: true });
});

test("bad configurations say what to fix", () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [[], {}, /enable at least one authenticator/],
    [["--auth-kubernetes", "--port=70000"], {}, /port/],
    [["--auth-kubernetes", "--allowed-origin=ftp://x"], {}, /allowedOrigins/],
    [["--oidc-issuer=https://id.example.com"], {}, /oidc.audience/],
    [["--dev-fake", "--auth-kubernetes"], {}, /--dev-fake needs --static-token-file/],
    [["--auth-kubernetes"], { LOG_LEVEL: "loud" }, /logLevel/],
    [["--nope"], {}, /Unknown option '--nope'; see --help/],
    [["--auth-kubernetes", "--recording-max-bytes=10"], {}, /recordingMaxBytes/],
    [["--auth-kubernetes", "--recording-max-bytes=lots"], {}, /recordingMaxBytes/],
    [["positional"], {}, /see --help/],
  ];
  for (const [argv, env, message] of cases) assert.throws(() => parseConfig(argv, env), message, argv.join(" "));
});
