import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommand, parseDuration, parseEnv } from "../../../cli/args.js";
import { CliError } from "../../../cli/errors.js";
import { EXIT } from "../../../cli/exit-codes.js";

const parses: [string, string[], Record<string, unknown>][] = [
  ["no arguments shows help", [], { kind: "help", topic: "main" }],
  ["--help", ["--help"], { kind: "help", topic: "main" }],
  ["help run", ["help", "run"], { kind: "help", topic: "run" }],
  ["help of an alias", ["help", "list"], { kind: "help", topic: "ls" }],
  ["command --help", ["attach", "-h"], { kind: "help", topic: "attach" }],
  ["run with template and command after --", ["run", "-t", "shell", "--", "bash", "-c", "exit 7"], { kind: "run", template: "shell", command: ["bash", "-c", "exit 7"], keep: false, quiet: false, env: [] }],
  ["run with image, name, env, keep, timeout", ["run", "--image", "agentbox/agent-shell:dev", "--name", "job-1", "-e", "A=1", "-e", "B=x=y", "--keep", "--timeout", "2m", "-q", "true"],
    { kind: "run", image: "agentbox/agent-shell:dev", name: "job-1", env: [{ name: "A", value: "1" }, { name: "B", value: "x=y" }], keep: true, quiet: true, timeoutSeconds: 120, command: ["true"] }],
  ["global options on a command", ["ls", "-n", "team-a", "-s", "https://api.example", "--token-file", "/t", "--ca-file", "/ca", "-o", "json"],
    { kind: "ls", output: "json", global: { namespace: "team-a", server: "https://api.example", tokenFile: "/t", caFile: "/ca" } }],
  ["ls defaults to a table", ["ls"], { kind: "ls", output: "table", global: {} }],
  ["list is ls", ["list", "-o", "name"], { kind: "ls", output: "name" }],
  ["logs -f", ["logs", "-f", "my-shell"], { kind: "logs", name: "my-shell", follow: true }],
  ["attach", ["attach", "my-shell"], { kind: "attach", name: "my-shell", view: false }],
  ["attach --view", ["attach", "--view", "my-shell"], { kind: "attach", name: "my-shell", view: true }],
  ["rm several", ["rm", "a", "b"], { kind: "rm", names: ["a", "b"] }],
  ["delete is rm", ["delete", "a"], { kind: "rm", names: ["a"] }],
  ["templates", ["templates"], { kind: "templates", output: "table" }],
];

for (const [name, argv, expected] of parses) {
  test(`parseCommand: ${name}`, () => {
    const got = parseCommand(argv) as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(got[key], value, `${key} of ${argv.join(" ")}`);
  });
}

const refusals: [string, string[], RegExp][] = [
  ["unknown command", ["frobnicate"], /unknown command "frobnicate"/],
  ["run without template or image", ["run", "--", "true"], /--template NAME or --image IMAGE/],
  ["run: agent option without --", ["run", "-t", "shell", "bash", "-c", "x"], /after "--"/],
  ["bad session name", ["attach", "My_Shell"], /not a valid name/],
  ["attach without name", ["attach"], /name the session/],
  ["attach with two names", ["attach", "a", "b"], /exactly one/],
  ["rm without names", ["rm"], /at least one/],
  ["bad output format", ["ls", "-o", "yaml"], /table, json or name/],
  ["ls with a stray argument", ["ls", "extra"], /unexpected argument/],
  ["bad env", ["run", "-t", "shell", "-e", "NOEQUALS"], /NAME=VALUE/],
  ["bad env name", ["run", "-t", "shell", "-e", "1A=b"], /NAME=VALUE/],
  ["bad timeout", ["run", "-t", "shell", "--timeout", "soon"], /duration/],
  ["bad template name", ["run", "-t", "Shell!"], /not a valid name/],
  ["a --token flag does not exist", ["ls", "--token", "abc"], /Unknown option '--token'/],
];

for (const [name, argv, message] of refusals) {
  test(`parseCommand refuses: ${name}`, () => {
    assert.throws(() => parseCommand(argv), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, EXIT.usage);
      assert.match(err.message, message);
      assert.match(err.message, /--help/);
      return true;
    });
  });
}

test("parseDuration", () => {
  const cases: [string, number][] = [["90", 90], ["90s", 90], ["30m", 1800], ["2h", 7200], ["1h30m", 5400], ["1m1s", 61]];
  for (const [text, seconds] of cases) assert.equal(parseDuration(text), seconds, text);
  for (const bad of ["", "0", "1d", "m", "1.5h", "-1s", "10 s"]) assert.throws(() => parseDuration(bad), CliError, bad);
});

test("parseEnv keeps everything after the first =", () => {
  assert.deepEqual(parseEnv("URL=https://x/?a=b"), { name: "URL", value: "https://x/?a=b" });
  assert.deepEqual(parseEnv("EMPTY="), { name: "EMPTY", value: "" });
});
