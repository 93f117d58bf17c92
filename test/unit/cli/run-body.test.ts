import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommand } from "../../../cli/args.js";
import { buildRunBody, generateName, type RunCommand } from "../../../cli/commands/run.js";
import { scanForDetach } from "../../../cli/terminal.js";
import { AgentSession } from "../../../crds/agentsession.js";

const run = (...argv: string[]): RunCommand => parseCommand(["run", ...argv]) as RunCommand;

test("buildRunBody makes a Batch session the CRD schema accepts", () => {
  const cases: [string, RunCommand, Record<string, unknown>][] = [
    ["template only", run("-t", "shell-batch"), { templateRef: { name: "shell-batch" }, agent: { tty: false }, lifecycle: { mode: "Batch" } }],
    ["template + command", run("-t", "shell", "--", "bash", "-c", "exit 7"), { templateRef: { name: "shell" }, agent: { tty: false, command: ["bash", "-c", "exit 7"] }, lifecycle: { mode: "Batch" } }],
    ["image + env", run("-i", "agentbox/agent-shell:dev", "-e", "A=1", "--", "true"), { agent: { tty: false, image: "agentbox/agent-shell:dev", command: ["true"], env: [{ name: "A", value: "1" }] }, lifecycle: { mode: "Batch" } }],
  ];
  for (const [name, cmd, spec] of cases) {
    const body = buildRunBody(cmd, "run-abc");
    assert.deepEqual(body.spec, spec, name);
    assert.equal(body.metadata.name, "run-abc");
    const parsed = AgentSession.safeParse({ apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", ...body });
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
