import { test } from "node:test";
import assert from "node:assert/strict";
import { SecretScrubber } from "../../../sidecar/secret-scrubber.js";
import { leaksSecret } from "../../support/secret-leak.js";

const secret = 'real/secret+value="q"&more 0123456789';
const stub = "stub-0123456789abcdefghijklmnopqrs";
const scrubber = new SecretScrubber([{ secret, stub }]);
const wide = "pässwörd-€-𝄞-secret-0123456789";
const wideStub = "stub-wide-0123456789-abcdefghij";

const percentAll = (value: string, upper: boolean): string => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).map((escape) => (upper ? escape.toUpperCase() : escape)).join("");
/** Every UTF-16 code unit as \uXXXX (so a character outside the BMP becomes a surrogate pair). */
const unicodeAll = (value: string, upper: boolean): string =>
  Array.from({ length: value.length }, (_, index) => {
    const hex = value.charCodeAt(index).toString(16).padStart(4, "0");
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  }).join("");
const jsonEscapeOnly = (value: string, chars: string): string => [...JSON.stringify(value).slice(1, -1)].map((char) => (chars.includes(char) ? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}` : char)).join("");

/** Every encoder variant the scrubber must see through: [name, value, encoded]. */
const variants: Array<[string, string, string]> = [
  ["raw", secret, secret],
  ["JSON.stringify", secret, JSON.stringify(secret).slice(1, -1)],
  ["JSON with \\/", secret, JSON.stringify(secret).slice(1, -1).replaceAll("/", "\\/")],
  ["JSON escaping only +", secret, jsonEscapeOnly(secret, "+")],
  ["JSON escaping only /", secret, JSON.stringify(secret).slice(1, -1).replaceAll("/", "\\u002f")],
  ["JSON every char, lower-case \\u", secret, unicodeAll(secret, false)],
  ["JSON every char, upper-case \\u", secret, unicodeAll(secret, true)],
  ["JS \\x escapes", secret, secret.replace(/[^A-Za-z0-9]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`)],
  ["encodeURIComponent", secret, encodeURIComponent(secret)],
  ["percent, lower-case", secret, encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())],
  ["percent keeping /", secret, encodeURIComponent(secret).replaceAll("%2F", "/")],
  ["encodeURI", secret, encodeURI(secret)],
  ["form-encoded", secret, new URLSearchParams({ k: secret }).toString().slice(2)],
  ["every byte percent-encoded", secret, percentAll(secret, true)],
  ["every byte percent-encoded, lower-case", secret, percentAll(secret, false)],
  ["hex", secret, Buffer.from(secret).toString("hex")],
  ["HEX", secret, Buffer.from(secret).toString("hex").toUpperCase()],
  ["hex inside a longer value", secret, Buffer.from(`prefix:${secret}:suffix`).toString("hex")],
  ["base64", secret, Buffer.from(secret).toString("base64")],
  ["base64 unpadded", secret, Buffer.from(secret).toString("base64").replace(/=+$/, "")],
  ["base64url", secret, Buffer.from(secret).toString("base64url")],
  ["base64 in Basic auth", secret, Buffer.from(`x-access-token:${secret}`).toString("base64")],
  ["base64 at offset 1", secret, Buffer.from(`a${secret}`).toString("base64")],
  ["base64 at offset 2", secret, Buffer.from(`ab${secret}`).toString("base64")],
  ["base64url at offset 1, unpadded", secret, Buffer.from(`a${secret}`).toString("base64url")],
  ["base64 wrapped at 16 (MIME style)", secret, Buffer.from(secret).toString("base64").replace(/(.{16})/g, "$1\r\n")],
  ["base64 in JSON with \\/", secret, Buffer.from(`??${secret}`).toString("base64").replaceAll("/", "\\/")],
  ["base64 percent-encoded", secret, encodeURIComponent(Buffer.from(`a${secret}`).toString("base64"))],
  ["UTF-8 raw", wide, wide],
  ["UTF-8 JSON \\u (surrogate pair)", wide, [...wide].map((char) => (char.charCodeAt(0) > 0x7e ? unicodeAll(char, false) : char)).join("")],
  ["UTF-8 JSON every char escaped, upper-case", wide, unicodeAll(wide, true)],
  ["UTF-8 percent-encoded", wide, encodeURIComponent(wide)],
  ["UTF-8 base64", wide, Buffer.from(wide).toString("base64")],
  ["UTF-8 hex", wide, Buffer.from(wide).toString("hex")],
];

const both = new SecretScrubber([{ secret, stub }, { secret: wide, stub: wideStub }]);

function streamed(target: SecretScrubber, parts: readonly Buffer[]): Buffer {
  const stream = target.stream();
  return Buffer.concat([...parts.map((part) => stream.push(part)), stream.end()]);
}

for (const [name, value, encoded] of variants) {
  // Latin1 text of the UTF-8 bytes, as the scrubber sees a body.
  const text = Buffer.from(`{"echo":"${encoded}","n":1}`, "utf8").toString("latin1");
  test(`${name}: the search sees it, and after scrubbing it is gone`, () => {
    assert.ok(leaksSecret(text, value), "the test's own search finds the unscrubbed form");
    const out = both.scrubString(text);
    assert.ok(!leaksSecret(out, value), out);
    assert.ok(out.startsWith('{"echo":"') && out.endsWith('","n":1}'), `the surrounding text is kept: ${out}`);
  });
  test(`${name}: scrubbed when split at every position and byte by byte`, () => {
    const bytes = Buffer.from(text, "latin1");
    for (let cut = 1; cut < bytes.length; cut++) {
      const out = streamed(both, [bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.ok(!leaksSecret(out, value), `cut at ${cut}: ${out.toString("latin1")}`);
    }
    const out = streamed(both, [...bytes].map((byte) => Buffer.from([byte])));
    assert.equal(out.toString("latin1"), both.scrubString(text), "the stream agrees with the one-shot scan");
  });
}

const canonical: Array<[string, string, (value: string) => string]> = [
  ["raw", secret, (value) => value],
  ["JSON", secret, (value) => JSON.stringify(value).slice(1, -1)],
  ["JSON all escaped", secret, (value) => unicodeAll(value, true)],
  ["percent", secret, encodeURIComponent],
  ["every byte percent-encoded", secret, (value) => percentAll(value, false)],
  ["hex", secret, (value) => Buffer.from(value).toString("hex")],
];

for (const [name, value, encode] of canonical) {
  test(`${name}: the value's place holds the stub in the same encoding`, () => {
    const text = `<${encode(value)}>`;
    const decoded = both.scrubString(text);
    const decode = (t: string): string =>
      name === "hex"
        ? Buffer.from(t.slice(1, -1), "hex").toString()
        : decodeURIComponent(JSON.parse(`"${t.slice(1, -1).replace(/\\u([0-9A-F]{4})/g, (_, hex: string) => `\\u${hex.toLowerCase()}`)}"`) as string);
    assert.equal(decode(decoded), stub);
  });
}

test("same-length stubs keep the length of every variant, so Content-Length stays valid", () => {
  const same = "SAME".repeat(Math.ceil(secret.length / 4)).slice(0, secret.length);
  const keeping = new SecretScrubber([{ secret, stub: same }]);
  assert.ok(keeping.keepsLength);
  for (const [name, value, encoded] of variants.filter(([, value]) => value === secret)) {
    const text = `{"echo":"${encoded}"}`;
    const out = keeping.scrubString(text);
    assert.equal(out.length, text.length, name);
    assert.ok(!leaksSecret(out, value), `${name}: ${out}`);
  }
  assert.ok(!scrubber.keepsLength);
});

test("text without a value passes unchanged: the same buffer, no copy", () => {
  const input = Buffer.from('{"ok":true,"path":"a\\/b","q":"%41%42","hex":"deadbeef","s":"sk sk-"}');
  const stream = scrubber.stream();
  assert.equal(stream.push(input), input);
  assert.equal(stream.end().length, 0);
  assert.equal(scrubber.scrubString("application/json"), "application/json");
});

test("only a live partial match is held back, so SSE events flow at once", () => {
  const stream = scrubber.stream();
  assert.equal(stream.push(Buffer.from("data: hello\n\n")).toString(), "data: hello\n\n");
  assert.equal(stream.push(Buffer.from("data: real/se")).toString(), "data: ");
  assert.equal(stream.push(Buffer.from("cond\n\n")).toString(), "real/second\n\n");
  assert.equal(stream.push(Buffer.from("data: %7")).toString(), "data: ");
  assert.equal(stream.push(Buffer.from("2eal\n\n")).toString(), "%72eal\n\n");
  assert.equal(stream.end().length, 0);
});

test("what is held back is bounded by the longest encoded form, whatever a hostile upstream sends", () => {
  const pieces = ["r", "%72", "\\u0072", "e", "%", "\\", "\\u", "a", "l", "/", "Y", "c", "7", "2", "\r\n", "+"];
  let seed = 11;
  const random = (below: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  const stream = scrubber.stream();
  let sent = 0;
  let received = 0;
  for (let round = 0; round < 20_000; round++) {
    const piece = Buffer.from(pieces[random(pieces.length)] ?? "", "latin1");
    sent += piece.length;
    received += stream.push(piece).length;
    assert.ok(sent - received <= scrubber.maxSpan, `held ${sent - received} > ${scrubber.maxSpan}`);
  }
});

test("streamed scrubbing equals the one-shot scan for random mixtures of encodings and splits", () => {
  let seed = 5;
  const random = (below: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  const pieces = [...variants.map(([, , encoded]) => encoded), "x", "\\", "%", "re", "al/", "\r\n", "==", "\\u00", "%7"];
  for (let round = 0; round < 300; round++) {
    const text = Buffer.from(Array.from({ length: 1 + random(6) }, () => pieces[random(pieces.length)]).join(" "), "utf8").toString("latin1");
    const bytes = Buffer.from(text, "latin1");
    const parts: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + random(12);
      parts.push(bytes.subarray(at, at + size));
      at += size;
    }
    const out = streamed(both, parts).toString("latin1");
    assert.equal(out, both.scrubString(text), text);
    assert.ok(!leaksSecret(out, secret) && !leaksSecret(out, wide), out);
  }
});

test("values shorter than four characters are not scrubbed (they would match text by chance)", () => {
  const tiny = new SecretScrubber([{ secret: "abc", stub: "xyz" }]);
  assert.equal(tiny.scrubString("abc abc"), "abc abc");
});
