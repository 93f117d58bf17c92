// The request-body swap's pattern replacement (stub → real value, scrub.ts). Responses are
// scrubbed by secret-scrubber.ts and tested in secret-scrubber.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { replaceAll, StreamReplacer } from "../../../sidecar/scrub.js";

const stub = "stub-0123456789abcdefghijklmnopqrs";
const secret = "real-0123456789";
const forms = [[Buffer.from(stub), Buffer.from(secret)] as const];

test("a stream split into single bytes is replaced", () => {
  const text = `a ${stub} b ${stub} c`;
  const replacer = new StreamReplacer(forms);
  const parts = [...Buffer.from(text, "latin1")].map((byte) => replacer.push(Buffer.from([byte])));
  const out = Buffer.concat([...parts, replacer.end()]).toString("latin1");
  assert.equal(out, `a ${secret} b ${secret} c`);
});

test("only a possible pattern prefix is held back, so SSE events flow at once", () => {
  const replacer = new StreamReplacer(forms);
  assert.equal(replacer.push(Buffer.from("data: hello\n\n")).toString(), "data: hello\n\n");
  assert.equal(replacer.push(Buffer.from("data: st")).toString(), "data: ");
  assert.equal(replacer.push(Buffer.from("d\n\n")).toString(), "std\n\n");
  assert.equal(replacer.end().length, 0);
});

test("text without secrets passes unchanged and the same buffer is returned", () => {
  const input = Buffer.from("nothing to see here");
  assert.equal(replaceAll(input, forms), input);
});

test("streamed replacement equals whole-input replacement for random inputs, patterns and chunk splits", () => {
  // A small alphabet makes overlapping patterns and partial matches at chunk ends common.
  let seed = 7;
  const random = (below: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  const word = (length: number): string => Array.from({ length }, () => "abc"[random(3)]).join("");
  for (let round = 0; round < 400; round++) {
    const froms = [...new Set(Array.from({ length: 1 + random(4) }, () => word(2 + random(5))))].sort((a, b) => b.length - a.length);
    const replacements = froms.map((from, index) => [Buffer.from(from), Buffer.from(`<${index}>`)] as const);
    const input = Buffer.from(word(random(60)));
    const expected = replaceAll(input, replacements).toString();
    // Reference: leftmost match, longest pattern first on ties, no rescanning of replaced text.
    let reference = "";
    for (let position = 0; position < input.length; ) {
      const text = input.toString();
      const found = froms.map((from, index) => [text.indexOf(from, position), index] as const).filter(([at]) => at >= 0).sort((a, b) => a[0] - b[0] || a[1] - b[1])[0];
      if (found === undefined) {
        reference += text.slice(position);
        break;
      }
      reference += `${text.slice(position, found[0])}<${found[1]}>`;
      position = found[0] + (froms[found[1]] ?? "").length;
    }
    assert.equal(expected, reference, `whole input ${input.toString()} with ${froms.join(",")}`);
    const replacer = new StreamReplacer(replacements);
    let streamed = "";
    for (let position = 0; position < input.length; ) {
      const size = 1 + random(8);
      streamed += replacer.push(input.subarray(position, position + size)).toString();
      position += size;
    }
    streamed += replacer.end().toString();
    assert.equal(streamed, expected, `streamed ${input.toString()} with ${froms.join(",")}`);
  }
});
