import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkQueue, type Scheduler } from "../../../operator/queue.js";

/** A manual clock: timers fire only when the test advances time. */
function fakeTime(): { scheduler: Scheduler; now: () => number; advance: (ms: number) => void; pending: () => number[] } {
  let t = 0;
  let timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => t,
    scheduler: (fn, ms) => {
      const timer = { at: t + ms, fn, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
    advance: (ms) => {
      t += ms;
      const due = timers.filter((x) => x.live && x.at <= t);
      timers = timers.filter((x) => x.live && x.at > t);
      for (const x of due) x.fn();
    },
    pending: () => timers.filter((x) => x.live).map((x) => x.at - t),
  };
}

test("a key is queued once however often it is added", async () => {
  const q = new WorkQueue();
  for (const k of ["a", "b", "a", "a", "b", "c"]) q.add(k);
  assert.equal(q.length, 3);
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ["a", "b", "c"]);
});

test("a key added while processing is handed out again only after done", async () => {
  const q = new WorkQueue();
  q.add("a");
  const k = await q.get();
  q.add("a");
  assert.equal(q.length, 0, "must not be handed to a second worker");
  q.done(k!);
  assert.equal(q.length, 1);
  assert.equal(await q.get(), "a");
});

test("a waiting worker receives a key added later", async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.add("x");
  assert.equal(await pending, "x");
  assert.equal(q.busy, 1);
});

test("failures back off exponentially up to the cap, and forget resets", () => {
  const time = fakeTime();
  const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, ...time });
  const delays = [1, 2, 3, 4, 5, 6].map(() => q.addRateLimited("k"));
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  q.forget("k");
  assert.equal(q.failuresOf("k"), 0);
  assert.equal(q.addRateLimited("k"), 100);
});

test("addAfter fires at the deadline; an earlier deadline replaces a later one", () => {
  const time = fakeTime();
  const q = new WorkQueue(time);
  q.addAfter("k", 5000);
  q.addAfter("k", 9000);
  assert.deepEqual(time.pending(), [5000]);
  q.addAfter("k", 1000);
  assert.deepEqual(time.pending(), [1000]);
  time.advance(999);
  assert.equal(q.length, 0);
  time.advance(1);
  assert.equal(q.length, 1);
});

test("shutDown releases waiting workers and cancels timers", async () => {
  const time = fakeTime();
  const q = new WorkQueue(time);
  const waiting = q.get();
  q.addAfter("k", 10);
  q.shutDown();
  assert.equal(await waiting, undefined);
  time.advance(10);
  assert.equal(q.length, 0);
  q.add("late");
  assert.equal(await q.get(), undefined);
});

test("urgent keys are served before ordinary ones, in their own order; an ordinary key added as urgent moves up", async () => {
  const q = new WorkQueue();
  q.add("old-1");
  q.add("old-2");
  q.add("new-1", { urgent: true });
  q.add("old-2", { urgent: true });
  q.add("new-2", { urgent: true });
  q.add("new-1", { urgent: true });
  const order: (string | undefined)[] = [];
  for (let i = 0; i < 4; i++) order.push(await q.get());
  assert.deepEqual(order, ["new-1", "old-2", "new-2", "old-1"]);
  assert.equal(q.length, 0);
});

test("waitedMs: how long the key being processed waited", async () => {
  const time = fakeTime();
  const q = new WorkQueue({ scheduler: time.scheduler, now: time.now });
  q.add("a");
  time.advance(250);
  const key = await q.get();
  assert.equal(q.waitedMs(key!), 250);
  q.done(key!);
  assert.equal(q.waitedMs(key!), undefined);
});
