import { test } from "node:test";
import assert from "node:assert/strict";
import { SecretScrubber } from "../../../sidecar/secret-scrubber.js";
import { encodeFrame, ServerFrameScrubber } from "../../../sidecar/websocket-frames.js";

// Fixtures shaped like an Anthropic key, split so secret scanners do not take them for one.
const KEY_PREFIX = "sk-ant-" + "api03-";
const SECRET = KEY_PREFIX + "realREALrealREAL0123";
const STUB = KEY_PREFIX + "stubSTUBstubSTUB0123";
const scrubber = new SecretScrubber([{ secret: SECRET, stub: STUB }]);

const controls: Array<[string, number, Buffer]> = [
  ["a close frame whose payload is the value (its first two bytes read as the code)", 0x8, Buffer.from(SECRET)],
  ["a close frame with a code and the value as its reason", 0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from(SECRET)])],
  ["a ping carrying the value", 0x9, Buffer.from(`x${SECRET}`)],
];

for (const [name, opcode, payload] of controls) {
  test(`control frames are scrubbed whole: ${name}`, () => {
    const out = new ServerFrameScrubber(scrubber).push(encodeFrame(true, opcode, payload));
    assert.ok(!out.includes(SECRET.slice(2)), out.toString("latin1"));
    assert.deepEqual(out, encodeFrame(true, opcode, Buffer.from(payload.toString("latin1").replace(SECRET, STUB), "latin1")));
  });
}
