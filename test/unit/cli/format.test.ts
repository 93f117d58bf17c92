import { test } from "node:test";
import assert from "node:assert/strict";
import { age, hasOutput, isFinished, progressLine, sessionsTable, startProblem, table, templatesTable } from "../../../cli/format.js";
import { SessionView, TemplateView } from "../../../cli/schemas.js";

const now = new Date("2026-11-25T12:00:00Z");
const session = (status: Record<string, unknown>, extra: Record<string, unknown> = {}): SessionView =>
  SessionView.parse({ metadata: { name: "s1", creationTimestamp: "2026-11-25T11:00:00Z" }, spec: { templateRef: { name: "shell" }, lifecycle: { mode: "Batch" } }, status, ...extra });

test("age", () => {
  const cases: [string | undefined, string][] = [
    ["2026-11-25T11:59:15Z", "45s"], ["2026-11-25T11:48:00Z", "12m"], ["2026-11-25T09:00:00Z", "3h"],
    ["2026-11-20T12:00:00Z", "5d"], ["2026-11-25T12:00:10Z", "0s"], [undefined, "<unknown>"], ["yesterday", "<unknown>"],
  ];
  for (const [since, want] of cases) assert.equal(age(since, now), want, String(since));
});

test("table aligns columns and trims trailing space", () => {
  assert.equal(table(["A", "BB"], [["long", "x"], ["s", ""]]), "A      BB\nlong   x\ns\n");
});

test("sessionsTable shows phase, mode, template or image, exit code, age", () => {
  const out = sessionsTable([
    session({ phase: "Failed", exitCode: 7 }),
    SessionView.parse({ metadata: { name: "img", creationTimestamp: "2026-11-25T11:59:00Z" }, spec: { agent: { image: "busybox:1" } } }),
    session({ phase: "Running" }, { metadata: { name: "going", deletionTimestamp: "2026-11-25T12:00:00Z" } }),
  ], now);
  const lines = out.trimEnd().split("\n");
  assert.match(lines[0]!, /^NAME\s+PHASE\s+MODE\s+TEMPLATE\/IMAGE\s+EXIT\s+AGE$/);
  assert.match(lines[1]!, /^s1\s+Failed\s+Batch\s+shell\s+7\s+60m$/);
  assert.match(lines[2]!, /^img\s+Pending\s+busybox:1\s+60s$/);
  assert.match(lines[3]!, /^going\s+Terminating/);
});

test("templatesTable names credentials and locks, never their sources", () => {
  const t = TemplateView.parse({ metadata: { name: "claude-code" }, spec: { agent: { image: "agentbox/claude-code:dev" }, credentials: [{ name: "anthropic", source: { secretKeyRef: { name: "anthropic", key: "api_key" } } }], locked: ["agent.image", "credentials"] } });
  const out = templatesTable([t, TemplateView.parse({ metadata: { name: "bare" } })]);
  assert.match(out, /claude-code\s+agentbox\/claude-code:dev\s+Interactive\s+anthropic\s+agent.image,credentials/);
  assert.match(out, /bare\s+Interactive\s+-\s+-/);
  assert.doesNotMatch(out, /api_key/);
});

test("phase predicates", () => {
  const cases: [string | undefined, boolean, boolean][] = [
    [undefined, false, false], ["Pending", false, false], ["Starting", false, false], ["Running", false, true],
    ["Succeeded", true, true], ["Failed", true, true], ["Expired", true, true], ["Terminating", false, false],
  ];
  for (const [phase, finished, output] of cases) {
    const s = session(phase === undefined ? {} : { phase });
    assert.equal(isFinished(s), finished, `isFinished ${phase}`);
    assert.equal(hasOutput(s), output, `hasOutput ${phase}`);
  }
});

test("startProblem: stuck reasons and image errors, not ordinary waiting", () => {
  const cases: [string, Record<string, unknown>, RegExp | undefined][] = [
    ["pending, nothing wrong", { phase: "Pending", message: "creating the session's pod" }, undefined],
    ["starting", { phase: "Starting", message: "waiting for the sidecar", conditions: [{ type: "Ready", status: "False", reason: "Starting", message: "" }] }, undefined],
    ["template missing", { phase: "Pending", conditions: [{ type: "TemplateResolved", status: "False", reason: "TemplateNotFound", message: "AgentTemplate nope not found" }] }, /TemplateNotFound: AgentTemplate nope not found/],
    ["template violation", { phase: "Pending", conditions: [{ type: "TemplateResolved", status: "False", reason: "TemplateViolation", message: "template locks agent.command" }] }, /TemplateViolation/],
    ["image pull", { phase: "Starting", message: "agent container waiting: ImagePullBackOff (Back-off pulling image)" }, /ImagePullBackOff/],
    ["unschedulable is transient", { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes" }] }, undefined],
  ];
  for (const [name, status, want] of cases) {
    const got = startProblem(session(status));
    if (want === undefined) assert.equal(got, undefined, name);
    else assert.match(got ?? "", want, name);
  }
});

test("progressLine reports only changes", () => {
  const first = progressLine(session({ phase: "Starting", message: "pulling" }), undefined);
  assert.equal(first, "Starting: pulling");
  assert.equal(progressLine(session({ phase: "Starting", message: "pulling" }), first), undefined);
  assert.equal(progressLine(session({ phase: "Running" }), first), "Running");
  assert.equal(progressLine(session({}), undefined), "Pending");
});
