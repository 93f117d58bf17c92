import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decideDrain,
  decideOffer,
  reattachDelayMs,
  shouldRecordActivity,
  targetState,
  type FlowLimits,
  type FlowState,
} from "../../../session-api/terminal/flow.js";

const limits: FlowLimits = { highWatermark: 100, lowWatermark: 20, maxPending: 300 };
const state = (inflight: number, pending: number, stale = false): FlowState => ({ inflight, pending, stale });

test("decideOffer", () => {
  const cases: Array<[FlowState, number, string]> = [
    [state(0, 0), 10, "send"],
    [state(90, 0), 10, "send"],
    [state(91, 0), 10, "queue"],
    [state(0, 5), 10, "queue"], // keep order: never overtake queued bytes
    [state(100, 290), 10, "queue"],
    [state(100, 291), 10, "overflow"],
    [state(0, 0), 1000, "send"], // an idle viewer takes even a chunk above the watermark
    [state(1, 0), 1000, "overflow"],
    [state(0, 0, true), 1, "drop"],
  ];
  for (const [s, size, want] of cases) assert.equal(decideOffer(s, size, limits), want, JSON.stringify({ s, size }));
});

test("decideDrain", () => {
  const cases: Array<[FlowState, string]> = [
    [state(21, 50), "wait"],
    [state(20, 50), "flush"],
    [state(0, 0), "wait"],
    [state(21, 0, true), "wait"],
    [state(20, 0, true), "resync"],
  ];
  for (const [s, want] of cases) assert.equal(decideDrain(s, limits), want, JSON.stringify(s));
});

test("activity is recorded first time, then once per interval", () => {
  assert.equal(shouldRecordActivity(undefined, 5, 1000), true);
  assert.equal(shouldRecordActivity(5, 500, 1000), false);
  assert.equal(shouldRecordActivity(5, 1005, 1000), true);
});

test("re-attach delay: short and bounded while the pod starts, at once when it has just become running, then growing", () => {
  const policy = { baseMs: 100, startingCapMs: 300, runningCapMs: 1000 };
  const cases: Array<[number, "starting" | "running", number]> = [
    [0, "starting", 100],
    [1, "starting", 200],
    [2, "starting", 300],
    [50, "starting", 300],
    [0, "running", 0],
    [1, "running", 200],
    [3, "running", 800],
    [4, "running", 1000],
    [1000, "running", 1000],
  ];
  for (const [attempt, state, want] of cases) assert.equal(reattachDelayMs(attempt, state, policy), want, `${state} attempt ${attempt}`);
  assert.equal(reattachDelayMs(1000, "running"), 10_000);
  assert.equal(reattachDelayMs(1000, "starting"), 500);
});

test("a session's phase says whether its terminal is worth re-attaching", () => {
  const cases: Array<[string | undefined, string]> = [
    ["Running", "running"],
    ["Starting", "starting"],
    ["Pending", "starting"],
    ["Succeeded", "gone"],
    ["Failed", "gone"],
    ["Expired", "gone"],
    ["Terminating", "gone"],
    [undefined, "gone"],
  ];
  for (const [phase, want] of cases) assert.equal(targetState(phase), want, String(phase));
});
