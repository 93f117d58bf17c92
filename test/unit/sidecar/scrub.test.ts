import { test } from "node:test";
import assert from "node:assert/strict";
import { replaceAll, secretForms, StreamReplacer } from "../../../sidecar/scrub.js";

const secret = 'real/secret+value="q"&more 0123456789';
const stub = "stub-0123456789abcdefghijklmnopqrs";
const forms = secretForms(secret, stub);

const reflections: Array<[string, string]> = [
  ["raw", secret],
  ["base64", Buffer.from(secret).toString("base64")],
  ["base64url", Buffer.from(secret).toString("base64url")],
  ["base64 inside Basic auth", Buffer.from(`x-access-token:${secret}`).toString("base64")],
  ["base64 at offset 1", Buffer.from(`a${secret}`).toString("base64")],
  ["base64 at offset 2", Buffer.from(`ab${secret}`).toString("base64")],
  ["URL-encoded", encodeURIComponent(secret)],
  ["URL-encoded lower-case", encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
  ["form-encoded", encodeURIComponent(secret).replaceAll("%20", "+")],
  ["JSON-escaped", JSON.stringify(secret)],
  ["JSON with escaped slash", JSON.stringify(secret).replaceAll("/", "\\/")],
];

/** True when any recognizable piece of the secret survives, decoded any of the ways a reader could. */
function leaks(text: string): boolean {
  const core = secret.slice(2, -2);
  const decodings = [
    text,
    safeDecode(text),
    safeDecode(text.replaceAll("+", " ")),
    text.replaceAll("\\/", "/").replaceAll('\\"', '"'),
    text.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
  ];
  if (decodings.some((decoded) => decoded.includes(core))) return true;
  // Any base64 run that decodes to something containing a long piece of the secret.
  for (const run of text.match(/[A-Za-z0-9+/_-]{8,}/g) ?? []) {
    for (let offset = 0; offset < 4; offset++) {
      const decoded = Buffer.from(run.slice(offset).replaceAll("-", "+").replaceAll("_", "/"), "base64").toString("latin1");
      if (decoded.includes(secret.slice(3, 20))) return true;
    }
  }
  return false;
}

for (const [name, reflection] of reflections) {
  const text = `{"echo":"${reflection}","n":1}`;
  test(`scrubs the ${name} form in one buffer`, () => {
    assert.ok(leaks(text), "the test's leak detector sees the unscrubbed form");
    const out = replaceAll(Buffer.from(text, "latin1"), forms).toString("latin1");
    assert.ok(!leaks(out), out);
  });
  test(`scrubs the ${name} form split at every position`, () => {
    for (let cut = 1; cut < text.length; cut++) {
      const replacer = new StreamReplacer(forms);
      const out = Buffer.concat([
        replacer.push(Buffer.from(text.slice(0, cut), "latin1")),
        replacer.push(Buffer.from(text.slice(cut), "latin1")),
        replacer.end(),
      ]).toString("latin1");
      assert.ok(!leaks(out), `cut at ${cut}: ${out}`);
    }
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

test("a stream split into single bytes is scrubbed", () => {
  const text = `a ${secret} b ${Buffer.from(secret).toString("base64")} c`;
  const replacer = new StreamReplacer(forms);
  const parts = [...Buffer.from(text, "latin1")].map((byte) => replacer.push(Buffer.from([byte])));
  const out = Buffer.concat([...parts, replacer.end()]).toString("latin1");
  assert.equal(out, `a ${stub} b ${Buffer.from(stub).toString("base64")} c`);
});

test("only a possible pattern prefix is held back, so SSE events flow at once", () => {
  const replacer = new StreamReplacer(forms);
  assert.equal(replacer.push(Buffer.from("data: hello\n\n")).toString(), "data: hello\n\n");
  assert.equal(replacer.push(Buffer.from("data: re")).toString(), "data: ");
  assert.equal(replacer.push(Buffer.from("d\n\n")).toString(), "red\n\n");
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
