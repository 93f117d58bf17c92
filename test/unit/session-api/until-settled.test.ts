import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import { untilSettled } from "../../../session-api/terminal/until-settled.js";
import type { Phase } from "../../../crds/agentsession.js";

async function starting(name: string): Promise<FakeSessionStore> {
  const store = new FakeSessionStore();
  store.initialPhase = "Pending";
  await store.createSession("ns", { name, spec: { agent: { image: "x" } } });
  return store;
}

test("untilSettled resolves with where the session went, and stops its watch", async () => {
  const cases: Array<[string, (store: FakeSessionStore) => unknown, string]> = [
    ["Running", (store) => store.setPhase("ns", "s", "Running"), "running"],
    ["deleted", (store) => store.deleteSession("ns", "s"), "gone"],
    ["Failed", (store) => store.setPhase("ns", "s", "Failed"), "gone"],
    ["Starting, then Running", (store) => (store.setPhase("ns", "s", "Starting"), store.setPhase("ns", "s", "Running")), "running"],
  ];
  for (const [what, change, expected] of cases) {
    const store = await starting("s");
    const wait = untilSettled(store, "ns", "s");
    assert.ok(wait, "the fake store can watch");
    const settled = wait(60_000, new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(store.watching("ns", "s"), 1, `${what}: watching while it starts`);
    change(store);
    assert.equal(await settled, expected, what);
    assert.equal(store.watching("ns", "s"), 0, `${what}: the watch stopped`);
  }
});

test("untilSettled resolves at once for a session already running, and hands over what it saw", async () => {
  const store = await starting("s");
  store.setPhase("ns", "s", "Running" satisfies Phase);
  const seen: Array<string | undefined> = [];
  const wait = untilSettled(store, "ns", "s", (session) => seen.push(session?.status?.phase));
  assert.equal(await wait?.(60_000, new AbortController().signal), "running");
  assert.deepEqual(seen, ["Running"]);
});

test("untilSettled gives up with 'starting' on its timeout or when aborted", async () => {
  const store = await starting("s");
  const wait = untilSettled(store, "ns", "s");
  assert.equal(await wait?.(10, new AbortController().signal), "starting");
  const aborted = new AbortController();
  const pending = wait?.(60_000, aborted.signal);
  aborted.abort();
  assert.equal(await pending, "starting");
  assert.equal(store.watching("ns", "s"), 0);
});

test("untilSettled is undefined for a store that cannot watch, and rejects when the watch cannot open", async () => {
  const store = await starting("s");
  const blind = Object.assign(Object.create(store) as FakeSessionStore, { watchSession: undefined });
  assert.equal(untilSettled(blind, "ns", "s"), undefined);
  const broken = Object.assign(Object.create(store) as FakeSessionStore, { watchSession: () => Promise.reject(new Error("watch refused: HTTP 403")) });
  await assert.rejects(untilSettled(broken, "ns", "s")?.(60_000, new AbortController().signal) ?? Promise.resolve(), /HTTP 403/);
});
