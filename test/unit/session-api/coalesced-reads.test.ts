import { test } from "node:test";
import assert from "node:assert/strict";
import { coalescedReads, fromList, readPlan } from "../../../session-api/store/coalesced-reads.js";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import { StoreError, type AgentSession, type SessionStore } from "../../../session-api/store/store.js";

test("readPlan: one name is a GET, several are one LIST", () => {
  const cases: Array<[string[], ReturnType<typeof readPlan>]> = [
    [["s1"], { kind: "get", name: "s1" }],
    [["s1", "s2"], { kind: "list" }],
    [Array.from({ length: 20 }, (_, i) => `s${i}`), { kind: "list" }],
  ];
  for (const [names, want] of cases) assert.deepEqual(readPlan(new Set(names)), want, names.join(","));
});

const session = (name: string): AgentSession =>
  ({ apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", metadata: { name, namespace: "team" }, spec: { agent: { image: "x" } } }) as AgentSession;

test("fromList: each asked name, absent when the LIST lacks it, others ignored", () => {
  const found = fromList([session("a"), session("b"), session("c")], ["a", "c", "z"]);
  assert.deepEqual([...found.keys()], ["a", "c", "z"]);
  assert.equal((found.get("a") as AgentSession).metadata.name, "a");
  assert.equal((found.get("c") as AgentSession).metadata.name, "c");
  assert.equal(found.get("z"), "absent");
});

/** The in-memory store, counting what reaches it; turns run only when the test says so. */
function setup(): { store: SessionStore; calls: string[]; turn: () => void; fake: FakeSessionStore } {
  const fake = new FakeSessionStore();
  const calls: string[] = [];
  const counted: SessionStore = Object.assign(Object.create(fake) as FakeSessionStore, {
    getSession: (namespace: string, name: string) => { calls.push(`get ${namespace}/${name}`); return fake.getSession(namespace, name); },
    listSessions: (namespace: string) => { calls.push(`list ${namespace}`); return fake.listSessions(namespace); },
  });
  const queued: Array<() => void> = [];
  const store = coalescedReads(counted, (run) => queued.push(run));
  return { store, calls, fake, turn: () => { for (const run of queued.splice(0)) run(); } };
}

async function add(fake: FakeSessionStore, namespace: string, name: string): Promise<void> {
  await fake.createSession(namespace, { name, spec: { agent: { image: "x" } } as AgentSession["spec"] });
}

test("coalescedReads: one turn's reads in a namespace are one LIST; a single read is a GET; one name is read once", async () => {
  const { store, calls, fake, turn } = setup();
  for (const name of ["a", "b", "c"]) await add(fake, "team", name);
  await add(fake, "other", "a");
  const reads = Promise.all([store.getSession("team", "a"), store.getSession("team", "b"), store.getSession("team", "b"), store.getSession("other", "a")]);
  turn();
  const [a, b1, b2, otherA] = await reads;
  assert.deepEqual([a?.metadata.name, b1?.metadata.name, b2?.metadata.name, otherA?.metadata.namespace], ["a", "b", "b", "other"]);
  assert.deepEqual(calls, ["list team", "get other/a"]);
  // Nothing is remembered: the next turn asks again and sees the change.
  fake.setPhase("team", "a", "Succeeded");
  const again = store.getSession("team", "a");
  turn();
  assert.equal((await again)?.status?.phase, "Succeeded");
  assert.deepEqual(calls, ["list team", "get other/a", "get team/a"]);
});

test("coalescedReads: a name the LIST lacks is read by itself; not found stays undefined with one GET", async () => {
  const { store, calls, fake, turn } = setup();
  await add(fake, "team", "a");
  const reads = Promise.all([store.getSession("team", "a"), store.getSession("team", "gone")]);
  turn();
  const [a, gone] = await reads;
  assert.equal(a?.metadata.name, "a");
  assert.equal(gone, undefined);
  assert.deepEqual(calls, ["list team", "get team/gone"]);
  const single = store.getSession("team", "nope");
  turn();
  assert.equal(await single, undefined);
  assert.deepEqual(calls.slice(2), ["get team/nope"]);
});

test("coalescedReads: a failed LIST fails every read of its turn, and is not remembered", async () => {
  const fake = new FakeSessionStore();
  await add(fake, "team", "a");
  await add(fake, "team", "b");
  let down = true;
  const flaky: SessionStore = Object.assign(Object.create(fake) as FakeSessionStore, {
    listSessions: (namespace: string) =>
      down ? Promise.reject(new StoreError("unavailable", "list sessions in team: the Kubernetes API server did not answer as expected")) : fake.listSessions(namespace),
  });
  const store = coalescedReads(flaky, (run) => queueMicrotask(run));
  const failed = await Promise.allSettled([store.getSession("team", "a"), store.getSession("team", "b")]);
  assert.deepEqual(failed.map((r) => r.status), ["rejected", "rejected"]);
  assert.match(String((failed[0] as PromiseRejectedResult).reason), /did not answer/);
  down = false;
  const read = await Promise.all([store.getSession("team", "a"), store.getSession("team", "b")]);
  assert.deepEqual(read.map((s) => s?.metadata.name), ["a", "b"]);
});

test("coalescedReads: the other store methods pass through", async () => {
  const { store, fake } = setup();
  await add(fake, "team", "a");
  assert.deepEqual((await store.listSessions("team")).map((s) => s.metadata.name), ["a"]);
  assert.equal(await store.deleteSession("team", "a", { username: "ann", groups: [] }), true);
  assert.deepEqual(fake.writes.at(-1), { verb: "delete", namespace: "team", name: "a", actor: { username: "ann", groups: [] } }, "the person goes with the write");
  assert.equal(typeof store.watchSession, "function");
});
