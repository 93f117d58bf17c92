import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CastRecorder, castEvent, castHeader } from "../../../session-api/terminal/asciicast.js";

const dir = mkdtempSync(join(tmpdir(), "agentbox-cast-"));

test("cast lines", () => {
  const cases: Array<[number, "o" | "r", string, string]> = [
    [0, "o", "hi\r\n", '[0,"o","hi\\r\\n"]\n'],
    [1.2345678, "o", "\x1b[1m", '[1.234568,"o","\\u001b[1m"]\n'],
    [3, "r", "80x24", '[3,"r","80x24"]\n'],
  ];
  for (const [t, kind, data, want] of cases) assert.equal(castEvent(t, kind, data), want);
  assert.deepEqual(JSON.parse(castHeader({ cols: 100, rows: 30 }, 1_700_000_000_500)), {
    version: 2,
    width: 100,
    height: 30,
    timestamp: 1_700_000_000,
    env: { TERM: "xterm-256color" },
  });
});

test("a recording has the header, output with its timing (a split UTF-8 character kept whole) and resizes", async () => {
  let now = 10_000;
  const path = join(dir, "a.cast");
  const recorder = new CastRecorder({ path, size: { cols: 80, rows: 24 }, maxBytes: 1 << 20, now: () => now });
  const e = Buffer.from("é");
  now += 500;
  recorder.output(Buffer.concat([Buffer.from("caf"), e.subarray(0, 1)]));
  now += 250;
  recorder.output(Buffer.concat([e.subarray(1), Buffer.from("\r\n")]));
  recorder.resize({ cols: 120, rows: 40 });
  await recorder.close();
  const lines = readFileSync(path, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as unknown);
  assert.deepEqual(lines.slice(1), [
    [0.5, "o", "caf"],
    [0.75, "o", "é\r\n"],
    [0.75, "r", "120x40"],
  ]);
  assert.equal((lines[0] as { width: number }).width, 80);
  assert.equal(statSync(path).mode & 0o777, 0o600, "recordings are private to the server");
});

test("recording stops at the size bound, never cutting a line", async () => {
  const path = join(dir, "b.cast");
  const recorder = new CastRecorder({ path, size: { cols: 80, rows: 24 }, maxBytes: 4096 });
  for (let i = 0; i < 1000; i++) recorder.output(Buffer.from(`line ${i}\r\n`));
  await recorder.close();
  const text = readFileSync(path, "utf8");
  assert.ok(recorder.full);
  assert.ok(Buffer.byteLength(text) <= 4096, `${Buffer.byteLength(text)} bytes`);
  for (const line of text.trimEnd().split("\n")) JSON.parse(line);
});

test("an existing file is never overwritten", async () => {
  const path = join(dir, "c.cast");
  await new CastRecorder({ path, size: { cols: 80, rows: 24 }, maxBytes: 1024 }).close();
  const second = new CastRecorder({ path, size: { cols: 80, rows: 24 }, maxBytes: 1024 });
  const failed = await new Promise<Error>((resolve) => second.onError(resolve));
  assert.match(failed.message, /EEXIST/);
});
