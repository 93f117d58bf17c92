import { test } from "node:test";
import assert from "node:assert/strict";
import { ParseBacklog } from "../../../session-api/terminal/parse-backlog.js";

const limits = { highBytes: 100, tailBytes: 30, releaseIntervalMs: 0 };
const bytes = (text: string): Buffer => Buffer.from(text);
const text = (data: Buffer | undefined): string | undefined => data?.toString("latin1");

test("output goes straight to the parser while it keeps up", () => {
  const backlog = new ParseBacklog(limits);
  assert.equal(text(backlog.write(bytes("a".repeat(60)))), "a".repeat(60));
  assert.equal(text(backlog.write(bytes("b".repeat(40)))), "b".repeat(40));
  assert.equal(backlog.release(), undefined, "nothing held");
  assert.equal(backlog.skipped, 0);
});

test("past the high mark output is held, and everything held is released in order when nothing was dropped", () => {
  const backlog = new ParseBacklog(limits);
  backlog.write(bytes("x".repeat(98)));
  assert.equal(backlog.write(bytes("one\n")), undefined);
  assert.equal(backlog.write(bytes("two\n")), undefined, "held output stays behind earlier held output");
  assert.equal(backlog.parsed(10), undefined, "still more than half the high mark behind");
  assert.equal(text(backlog.parsed(38)), "one\ntwo\n");
  assert.equal(backlog.skipped, 0);
});

test("a long hold keeps only the tail, cut at a line start and led by CAN", () => {
  const backlog = new ParseBacklog(limits);
  backlog.write(bytes("x".repeat(100)));
  for (let i = 0; i < 20; i++) assert.equal(backlog.write(bytes(`line ${String(i).padStart(2, "0")}\n`)), undefined);
  const released = text(backlog.release());
  // Each line is 8 bytes: the tail of at least 30 bytes is 4 whole lines (32), then cut at a line start.
  assert.equal(released, "\x18line 17\nline 18\nline 19\n");
  assert.equal(backlog.skipped, 20 * 8 - 24);
  assert.equal(backlog.release(), undefined, "released once");
});

test("one huge chunk keeps only its tail", () => {
  const backlog = new ParseBacklog(limits);
  backlog.write(bytes("x".repeat(100)));
  const flood = Array.from({ length: 100 }, (_, i) => `L${String(i).padStart(3, "0")}\n`).join("");
  assert.equal(backlog.write(bytes(flood)), undefined);
  // The last 30 bytes are L094..L099; the partial first line is cut even when it happens to be whole.
  assert.equal(text(backlog.release()), "\x18L095\nL096\nL097\nL098\nL099\n");
});

test("released bytes count as unparsed: the parser must report them before more flows straight through", () => {
  const backlog = new ParseBacklog(limits);
  backlog.write(bytes("x".repeat(100)));
  backlog.write(bytes("y".repeat(20)));
  assert.equal(text(backlog.parsed(100)), "y".repeat(20));
  assert.equal(text(backlog.write(bytes("z".repeat(80)))), "z".repeat(80), "20 + 80 fits the high mark");
  assert.equal(backlog.write(bytes("w")), undefined);
});

test("unasked releases are spaced by the interval; asked ones are not", () => {
  let now = 0;
  const backlog = new ParseBacklog({ ...limits, releaseIntervalMs: 1000 }, () => now);
  backlog.write(bytes("x".repeat(100)));
  assert.equal(text(backlog.write(bytes("a\n"))), undefined);
  assert.equal(text(backlog.parsed(100)), "a\n", "the first release is due at once");
  backlog.write(bytes("x".repeat(98)));
  assert.equal(backlog.write(bytes("b\n")), undefined);
  now = 999;
  assert.equal(backlog.parsed(100), undefined, "caught up, but released 999 ms ago");
  assert.equal(backlog.write(bytes("c\n")), undefined);
  now = 1000;
  assert.equal(text(backlog.write(bytes("d\n"))), "b\nc\nd\n", "due again: the next write releases everything held");
  backlog.write(bytes("x".repeat(94)));
  assert.equal(backlog.write(bytes("y".repeat(20))), undefined, "6 + 94 bytes unparsed: these are held, not due yet");
  assert.equal(text(backlog.release()), "y".repeat(20), "a snapshot or resize takes it whenever it asks");
});
