import { test } from "node:test";
import assert from "node:assert/strict";
import { ownership } from "../../../operator/ownership.js";

const s = { name: "s1", uid: "u1" };
const ref = (uid: string, controller = true): Record<string, unknown> => ({ apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", name: "s1", uid, controller });
const labels = { "app.kubernetes.io/managed-by": "agentbox", "agentbox.dev/session": "s1" };

test("ownership: owned, adoptable, foreign, absent", () => {
  const rows: [string, unknown, string][] = [
    ["absent", undefined, "absent"],
    ["controller is this session", { metadata: { ownerReferences: [ref("u1")] } }, "owned"],
    ["controller is an older session of the same name", { metadata: { ownerReferences: [ref("u0")] }, labels }, "foreign"],
    ["controller is something else", { metadata: { ownerReferences: [{ ...ref("x"), kind: "ReplicaSet" }] } }, "foreign"],
    ["no controller, our labels", { metadata: { labels } }, "adoptable"],
    ["no controller, labels for another session", { metadata: { labels: { ...labels, "agentbox.dev/session": "s2" } } }, "foreign"],
    ["no controller, no labels", { metadata: {} }, "foreign"],
    ["a non-controller reference to us does not make it ours", { metadata: { ownerReferences: [ref("u1", false)] } }, "foreign"],
  ];
  for (const [name, obj, expected] of rows) assert.equal(ownership(obj as never, s), expected, name);
});

test("needsApply: re-apply on restart, missing pod, spec change, and after the re-apply period only", async () => {
  const { needsApply } = await import("../../../operator/reconcile.js");
  const rec = { generation: 2, hash: "h", at: 1000, stubs: {} };
  const cur = { generation: 2, hash: "h", podExists: true, now: 2000, reapplyAfterMs: 5000 };
  assert.equal(needsApply(undefined, cur), true, "nothing recorded (operator restarted)");
  assert.equal(needsApply(rec, { ...cur, podExists: false }), true, "pod missing");
  assert.equal(needsApply(rec, { ...cur, generation: 3 }), true, "spec changed");
  assert.equal(needsApply(rec, { ...cur, hash: "h2" }), true, "template or platform changed");
  assert.equal(needsApply(rec, { ...cur, now: 6000 }), true, "re-apply period elapsed");
  assert.equal(needsApply(rec, cur), false, "nothing changed");
});
