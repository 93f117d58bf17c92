import { test } from "node:test";
import assert from "node:assert/strict";
import { peakMemory, stages, type SessionClock } from "../../bench/operator/stages.js";

const line = (o: object): string => JSON.stringify(o);
const log = [
  line({ time: 1_100, msg: "session seen", session: "ns/a" }),
  line({ time: 1_150, msg: "session seen", session: "other/a" }),
  line({ time: 1_500, msg: "pod created", session: "ns/a" }),
  line({ time: 1_600, msg: "reconciled", session: "ns/a", waitedMs: 50, tookMs: 400 }),
  line({ time: 1_900, msg: "reconciled", session: "ns/a", waitedMs: 0, tookMs: 10 }),
  line({ time: 2_000, msg: "session seen", session: "ns/b" }),
  line({ time: 2_500, msg: "memory", memory: { rss: 9, heapTotal: 5, heapUsed: 4, external: 1, arrayBuffers: 1 } }),
  line({ time: 2_600, msg: "memory", memory: { rss: 12, heapTotal: 6, heapUsed: 5, external: 2, arrayBuffers: 1 } }),
  line({ time: 2_700, msg: "memory", memory: { rss: 11, heapTotal: 6, heapUsed: 3, external: 2, arrayBuffers: 1 } }),
  '{"time": 3000, "msg": "cut sho',
].join("\n");

test("stages splits apply→pod created into the bench's and the operator's marks", () => {
  const clocks = new Map<string, SessionClock>([
    ["a", { applied: 1_000, createReturned: 1_080, podSeen: 1_700 }],
    ["b", { applied: 1_900 }],
  ]);
  const s = stages(log, "ns", clocks);
  assert.deepEqual(Object.fromEntries(s), {
    "apply→create returned": [80],
    "create returned→operator saw it": [20],
    // the reconcile that created the pod started at 1600 - 400; seen at 1100
    "seen→reconcile started (queue)": [100],
    "reconcile started→pod POST returned": [300],
    "pod POST returned→bench saw pod": [200],
  });
});

test("peakMemory is the sample with the highest RSS, undefined without memory lines", () => {
  assert.deepEqual(peakMemory(log), { rss: 12, heapTotal: 6, heapUsed: 5, external: 2, arrayBuffers: 1 });
  assert.equal(peakMemory(line({ msg: "operator started" })), undefined);
});
