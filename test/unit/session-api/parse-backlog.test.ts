import { test } from "node:test";
import assert from "node:assert/strict";
import { ParseBacklog } from "../../../session-api/terminal/parse-backlog.js";

// A budget too large to matter, for the tests of holding and cutting.
const limits = { highBytes: 100, tailBytes: 30, parseBytesPerSecond: 1e12, burstBytes: 1e12 };
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
  assert.equal(backlog.parsed(3), undefined, "the parser would still be more than 100 bytes behind");
  assert.equal(text(backlog.parsed(3)), "one\ntwo\n", "92 + 8 bytes fit");
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

test("while output floods, the parser is given no more than its byte budget; asked-for releases are not held back", () => {
  let now = 0;
  const backlog = new ParseBacklog({ highBytes: 100, tailBytes: 30, parseBytesPerSecond: 50, burstBytes: 60 }, () => now);
  assert.equal(text(backlog.write(bytes("x".repeat(60)))), "x".repeat(60), "the burst goes through");
  assert.equal(backlog.write(bytes("a\n")), undefined, "budget spent: held though the parser is idle");
  assert.equal(backlog.parsed(60), undefined, "parsed, but no budget yet");
  now = 20; // +1 byte of budget
  assert.equal(backlog.write(bytes("b\n")), undefined, "1 byte of budget does not cover 4 held bytes");
  now = 120; // +5 more
  assert.equal(text(backlog.write(bytes("c\n"))), "a\nb\nc\n", "the budget covers what is held: released in order");
  assert.equal(backlog.write(bytes("d\n")), undefined, "budget spent again");
  assert.equal(text(backlog.release()), "d\n", "a snapshot or resize takes it whenever it asks");
  now = 1000; // 44 bytes of budget came back, 2 of them owed for the asked-for release
  assert.equal(text(backlog.write(bytes("y".repeat(40)))), "y".repeat(40));
  assert.equal(backlog.write(bytes("z".repeat(5))), undefined, "the debt was paid from the refill");
});
