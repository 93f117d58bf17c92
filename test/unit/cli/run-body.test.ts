import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommand } from "../../../cli/args.js";
import { buildRunBody, generateName, type RunCommand } from "../../../cli/commands/run.js";
import { newOutput } from "../../../cli/follow-logs.js";
import { scanForDetach, terminalUrl } from "../../../cli/terminal.js";
import { AgentSessionSpec } from "../../../crds/agentsession.js";
import { CreateSessionBody } from "../../../session-api/http/schemas.js";

const run = (...argv: string[]): RunCommand => parseCommand(["run", ...argv]) as RunCommand;

test("buildRunBody makes a Batch session body the session API and the CRD schema accept", () => {
  const cases: [string, RunCommand, string | undefined, Record<string, unknown>][] = [
    ["template only", run("-t", "shell-batch"), "shell-batch", { agent: { tty: false }, lifecycle: { mode: "Batch" } }],
    ["template + command", run("-t", "shell", "--", "bash", "-c", "exit 7"), "shell", { agent: { tty: false, command: ["bash", "-c", "exit 7"] }, lifecycle: { mode: "Batch" } }],
    ["image + env", run("-i", "agentbox/agent-shell:dev", "-e", "A=1", "--", "true"), undefined, { agent: { tty: false, image: "agentbox/agent-shell:dev", command: ["true"], env: [{ name: "A", value: "1" }] }, lifecycle: { mode: "Batch" } }],
  ];
  for (const [name, cmd, template, spec] of cases) {
    const body = buildRunBody(cmd, "run-abc");
    assert.deepEqual(body, { name: "run-abc", ...(template ? { template } : {}), spec }, name);
    const request = CreateSessionBody.safeParse(body);
    assert.ok(request.success, `${name}: ${request.success ? "" : request.error.message}`);
    const withRef = template ? { ...body.spec, templateRef: { name: template } } : body.spec;
    const parsed = AgentSessionSpec.safeParse(withRef);
    assert.ok(parsed.success, `${name}: ${parsed.success ? "" : parsed.error.message}`);
  }
});

test("generateName gives distinct valid names", () => {
  const names = new Set(Array.from({ length: 200 }, () => generateName()));
  assert.equal(names.size, 200);
  for (const n of names) assert.match(n, /^run-[a-z0-9]{6}$/);
});

test("scanForDetach stops at Ctrl-] and forwards what came before", () => {
  const cases: [string, string, string, boolean][] = [
    ["plain input", "ls -l\r", "ls -l\r", false],
    ["detach alone", "\x1d", "", true],
    ["detach after typing", "abc\x1dxyz", "abc", true],
    ["Ctrl-C is forwarded", "\x03", "\x03", false],
    ["escape sequences are forwarded", "\x1b[A", "\x1b[A", false],
  ];
  for (const [name, input, forward, detach] of cases) {
    const got = scanForDetach(Buffer.from(input, "binary"));
    assert.equal(got.forward.toString("binary"), forward, name);
    assert.equal(got.detach, detach, name);
  }
});

test("newOutput prints only what the log gained, and all of a log that started over", () => {
  const cases: [number, string, string, number][] = [
    [0, "", "", 0],
    [0, "a\n", "a\n", 2],
    [2, "a\nb\n", "b\n", 4],
    [4, "a\nb\n", "", 4],
    [4, "c\n", "c\n", 2],
  ];
  for (const [printed, text, out, next] of cases) assert.deepEqual(newOutput(printed, text), { out, printed: next }, `${printed} ${JSON.stringify(text)}`);
});

test("terminalUrl: ws(s) scheme, same path, mode=view only when asked, never a token", () => {
  assert.equal(terminalUrl(new URL("https://a.example/p/api/v1/namespaces/ns/sessions/s/terminal")).href, "wss://a.example/p/api/v1/namespaces/ns/sessions/s/terminal");
  assert.equal(terminalUrl(new URL("http://127.0.0.1:8080/api/v1/namespaces/ns/sessions/s/terminal"), true).href, "ws://127.0.0.1:8080/api/v1/namespaces/ns/sessions/s/terminal?mode=view");
});
