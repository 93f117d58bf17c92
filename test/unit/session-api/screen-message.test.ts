import { test } from "node:test";
import assert from "node:assert/strict";
import { writeMessage } from "../../../session-api/terminal/screen-host.js";

test("a write to the screen worker posts a view as an exact copy it transfers, a whole buffer as is", () => {
  const read = Buffer.alloc(16384, 0x61);
  read.write("echo", 100);
  const whole = new Uint8Array(8);
  const cases: Array<[string, Uint8Array, boolean]> = [
    ["a 4-byte view of a 16 KiB read", read.subarray(100, 104), true],
    ["a view at the start of its buffer", read.subarray(0, 10), true],
    ["a buffer of its own", whole, false],
  ];
  for (const [what, chunk, copied] of cases) {
    const [message, transfer] = writeMessage(7, chunk);
    assert.equal(message.type, "write", what);
    if (message.type !== "write") continue;
    assert.deepEqual(Buffer.from(message.data), Buffer.from(chunk), `${what}: the same bytes`);
    assert.equal(message.data.buffer.byteLength, chunk.byteLength, `${what}: nothing beyond them is posted`);
    assert.equal(transfer !== undefined, copied, `${what}: transferred only when copied`);
    if (copied) assert.notEqual(message.data.buffer, chunk.buffer, `${what}: the upstream's buffer is never transferred away`);
  }
});
