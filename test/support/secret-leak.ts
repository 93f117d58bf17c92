// The tests' own search for a real value in bytes an agent received, written independently of
// the sidecar's scrubber: it decompresses what it can, decodes JSON escapes and percent
// encoding (any case, any subset), then looks for the value raw and inside every base64,
// base64url and hex run at every alignment. A core of the value (its ends trimmed, since an
// encoded neighbour garbles a boundary byte or two) counts as a leak.
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";

/** True when `data` carries `secret` in any form the search can decode. */
export function leaksSecret(data: Buffer | string, secret: string): boolean {
  const core = Buffer.from(secret, "utf8").toString("latin1").slice(3, -3);
  const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  return expansions(bytes, 0).some((buffer) => textViews(buffer.toString("latin1")).some((view) => viewLeaks(view, core)));
}

/** The bytes and whatever they decompress to (nested, a few layers deep). */
function expansions(bytes: Buffer, depth: number): Buffer[] {
  const out = [bytes];
  if (depth >= 3) return out;
  const limit = Error.stackTraceLimit;
  // Failed attempts throw; without stack traces that is cheap.
  Error.stackTraceLimit = 0;
  for (const [decode, start] of candidates(bytes)) {
    try {
      const decoded = decode(bytes.subarray(start), { finishFlush: 2 /* Z_SYNC_FLUSH: keep what a truncated stream yields */ } as never);
      if (decoded.length > 0) out.push(...expansions(decoded, depth + 1));
    } catch {
      // Not that compression at this offset.
    }
  }
  Error.stackTraceLimit = limit;
  return out;
}

type Decode = (data: Buffer, options: never) => Buffer;

/**
 * Where compressed data may begin, and how to try it: gzip at its magic bytes, zlib at a valid
 * zlib header, brotli and raw deflate (no magic of their own) at the start and after a blank
 * line (a body after its head).
 */
function candidates(bytes: Buffer): Array<[Decode, number]> {
  const found: Array<[Decode, number]> = [];
  const bodies = [0];
  for (let at = bytes.indexOf("\r\n\r\n"); at >= 0 && bodies.length < 16; at = bytes.indexOf("\r\n\r\n", at + 1)) bodies.push(at + 4);
  for (const start of bodies) {
    // Compressed bytes are never all printable text for long; trying each text costs an exception.
    if (/^[\t\n\r\x20-\x7e]*$/.test(bytes.toString("latin1", start, start + 32))) continue;
    found.push([brotliDecompressSync as Decode, start], [inflateRawSync as Decode, start]);
  }
  for (let at = 0; at + 1 < bytes.length && found.length < 256; at++) {
    const first = bytes[at] as number;
    const second = bytes[at + 1] as number;
    if (first === 0x1f && second === 0x8b) found.push([gunzipSync as Decode, at]);
    else if ((first & 0x0f) === 8 && first >> 4 <= 7 && (first * 256 + second) % 31 === 0) found.push([inflateSync as Decode, at]);
  }
  return found;
}

/** The text as received and with its escapes decoded, each way and both ways. */
function textViews(text: string): string[] {
  const json = unescapeJson(text);
  const percent = unescapePercent(text);
  return [text, json, percent, unescapePercent(json), unescapeJson(percent), percent.replaceAll("+", " "), unescapePercent(text.replaceAll("+", " "))];
}

function unescapeJson(text: string): string {
  return text
    .replace(/\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})/g, (_, high: string, low: string) => utf8Latin1(String.fromCharCode(parseInt(high, 16), parseInt(low, 16))))
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => utf8Latin1(String.fromCharCode(parseInt(hex, 16))))
    .replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\([\\/"'])/g, "$1");
}

function unescapePercent(text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function utf8Latin1(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

function viewLeaks(view: string, core: string): boolean {
  if (view.includes(core)) return true;
  const unwrapped = view.replace(/\\[rn]|[\r\n]/g, "");
  for (const run of unwrapped.match(/[A-Za-z0-9+/_-]{8,}/g) ?? []) {
    const standard = run.replaceAll("-", "+").replaceAll("_", "/");
    for (let offset = 0; offset < 4; offset++) {
      if (Buffer.from(standard.slice(offset), "base64").toString("latin1").includes(core)) return true;
    }
  }
  for (const run of view.match(/[0-9a-fA-F]{8,}/g) ?? []) {
    for (let offset = 0; offset < 2; offset++) {
      if (Buffer.from(run.slice(offset), "hex").toString("latin1").includes(core)) return true;
    }
  }
  return false;
}
