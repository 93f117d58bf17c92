// Finds a real value in a response however an ordinary encoder wrote it, and replaces it with
// its stub. Rather than listing encoded forms (a list always misses a variant: upper-case
// \uXXXX, a JSON encoder that escapes only "/", percent-encoding that keeps "/", every byte
// percent-encoded, hex), the scanner decodes as it compares: at each position that could start
// a match it reads "units" (a literal byte, %XX of either case, a JSON/JS escape \uXXXX, \xXX,
// \/ \" \\ …, "+" for a space) and compares what they decode to against the secret's bytes,
// its base64 characters (either alphabet, any alignment, line breaks allowed) or its hex
// digits (either case). A stream holds back only a tail that is still a live partial match,
// so SSE events flow at once; that tail is bounded by the longest encoded form. Pure.

/** A real value and the stub that replaces it. */
export interface ScrubValue {
  readonly secret: string;
  readonly stub: string;
}

type Scheme = "text" | "base64" | "hex";

/** One way a value can be carried, as the characters a match must read. */
interface Form {
  readonly scheme: Scheme;
  /** Latin1 characters to read: the value's UTF-8 bytes, or its base64 (standard alphabet) or lower-case hex digits. */
  readonly expected: string;
  /** The stub's characters in the same scheme, written in place of a match. */
  readonly replacement: string;
}

const NO = -1;
/** The input ended inside a possible match: more bytes decide it. */
const MORE = -2;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
/** Values shorter than this are not scrubbed: they would match ordinary text by chance. */
const MIN_VALUE = 4;
/** The fewest base64 or hex characters a form must fix, for the same reason. */
const MIN_ENCODED = 6;
/** Line-break characters allowed between two base64 characters (MIME wraps lines, JSON may escape them). */
const MAX_BREAK = 4;

/** Every form of every value, indexed by the characters a match can start with. */
export class SecretScrubber {
  /** Forms whose first unit can be this literal character, per latin1 code. */
  private readonly starts: Array<Form[] | undefined> = Array.from({ length: 256 }, () => undefined);
  /**
   * Finds the positions worth trying: a form's first character followed by something that can
   * be its second (or the end of the input), or an escape. A native regular-expression scan;
   * a character loop in JavaScript cost ~8 µs per KiB, several times the rest of a response.
   */
  private readonly candidates: RegExp;
  /** An upper bound on the characters one match can span: the longest tail a stream holds back. */
  readonly maxSpan: number;
  /** True when every stub is as long as its value, so a scrubbed body keeps its length. */
  readonly keepsLength: boolean;
  readonly empty: boolean;

  constructor(values: readonly ScrubValue[]) {
    const forms = values.filter(({ secret }) => secret.length >= MIN_VALUE).flatMap(formsOf);
    // Longer forms first, so a match prefers the form that covers the most.
    forms.sort((a, b) => b.expected.length - a.expected.length);
    const seconds = new Map<number, Set<number>>();
    for (const form of forms) {
      for (const code of startCodes(form)) {
        (this.starts[code] ??= []).push(form);
        const next = seconds.get(code) ?? new Set([PERCENT, BACKSLASH, 0x0d, 0x0a]);
        for (const second of secondCodes(form)) next.add(second);
        seconds.set(code, next);
      }
    }
    const alternatives = [...seconds].map(([first, next]) => `${classOf([first])}(?=${classOf([...next])}|$)`);
    this.candidates = new RegExp([...alternatives, "[%\\\\]"].join("|"), "g");
    this.empty = forms.length === 0;
    // A unit is at most 6 characters per expected character (\uXXXX), plus line breaks in base64.
    this.maxSpan = Math.max(0, ...forms.map((form) => form.expected.length * (6 + MAX_BREAK)));
    this.keepsLength = values.every(({ secret, stub }) => Buffer.byteLength(secret) === Buffer.byteLength(stub));
  }

  /** A header value or reason phrase (latin1) with every match replaced; the same string when none. */
  scrubString(value: string): string {
    if (this.empty) return value;
    return this.scan(value, true).out ?? value;
  }

  /** A scrubber for one streamed body. */
  stream(): ScrubStream {
    return new ScrubStream(this);
  }

  /**
   * Replaces matches left to right. `final` false: stops at the earliest position where the
   * input ends inside a possible match and reports it as `held`. `out` is undefined when
   * nothing was replaced (the caller keeps its input).
   */
  scan(text: string, final: boolean): { out: string | undefined; held: number } {
    let out: string | undefined;
    let copied = 0;
    const units: string[] = [];
    const candidates = this.candidates;
    candidates.lastIndex = 0;
    for (let found = candidates.exec(text); found !== null; found = candidates.exec(text)) {
      const position = found.index;
      const result = this.matchAny(text, position, units, final);
      if (result === MORE) return { out: out === undefined ? undefined : out + text.slice(copied, position), held: position };
      if (result === undefined) {
        candidates.lastIndex = position + 1;
        continue;
      }
      const span = text.slice(position, result.end);
      out = (out ?? "") + text.slice(copied, position) + replacementFor(result.form, units, span, this.keepsLength);
      copied = result.end;
      candidates.lastIndex = result.end;
    }
    return { out: out === undefined ? undefined : out + text.slice(copied), held: text.length };
  }

  /**
   * The first form that matches at `position` (its units left in `units`), undefined when none,
   * or MORE when a form is still undecided at the end of a non-final input: a longer form may be
   * decided by bytes to come.
   */
  private matchAny(text: string, position: number, units: string[], final: boolean): { form: Form; end: number } | undefined | typeof MORE {
    const code = text.charCodeAt(position);
    let forms = this.starts[code];
    if (code === PERCENT || code === BACKSLASH) {
      // Decode the escape once and try only the forms whose first character it can be.
      const unit = decodeEscape(text, position, final);
      if (unit === MORE) return MORE;
      const decoded = unit === undefined ? undefined : this.starts[unit.decoded.charCodeAt(0)];
      if (decoded !== undefined) forms = forms === undefined ? decoded : [...decoded, ...forms];
    }
    if (forms === undefined) return undefined;
    let more = false;
    for (const form of forms) {
      units.length = 0;
      const end = matchAt(text, position, form, units, final);
      if (end === MORE) more = true;
      else if (end !== NO) return more && !final ? MORE : { form, end };
    }
    return more && !final ? MORE : undefined;
  }
}

/** A regular-expression character class of latin1 codes. */
function classOf(codes: readonly number[]): string {
  return `[${codes.map((code) => `\\x${code.toString(16).padStart(2, "0")}`).join("")}]`;
}

const EMPTY = Buffer.alloc(0);

/** Streamed scrubbing: each push returns what may be sent now; end returns the rest. */
export class ScrubStream {
  private held = "";

  constructor(private readonly scrubber: SecretScrubber) {}

  push(chunk: Buffer): Buffer {
    if (this.scrubber.empty) return chunk;
    const fresh = this.held.length === 0;
    const text = fresh ? chunk.toString("latin1") : this.held + chunk.toString("latin1");
    const { out, held } = this.scrubber.scan(text, false);
    this.held = held === text.length ? "" : text.slice(held);
    if (out !== undefined) return Buffer.from(out, "latin1");
    // Nothing replaced: pass the chunk on without copying when nothing was held before.
    if (fresh) return held === chunk.length ? chunk : chunk.subarray(0, held);
    return Buffer.from(text.slice(0, held), "latin1");
  }

  end(): Buffer {
    if (this.held.length === 0) return EMPTY;
    const text = this.held;
    this.held = "";
    return Buffer.from(this.scrubber.scan(text, true).out ?? text, "latin1");
  }
}

function formsOf({ secret, stub }: ScrubValue): Form[] {
  const bytes = Buffer.from(secret, "utf8");
  const stubBytes = Buffer.from(stub, "utf8");
  const forms: Form[] = [{ scheme: "text", expected: bytes.toString("latin1"), replacement: stubBytes.toString("latin1") }];
  for (let offset = 0; offset < 3; offset++) {
    const expected = base64Fixed(bytes, offset);
    if (expected.length >= MIN_ENCODED) forms.push({ scheme: "base64", expected, replacement: base64Fixed(stubBytes, offset) });
  }
  forms.push({ scheme: "hex", expected: bytes.toString("hex"), replacement: stubBytes.toString("hex") });
  return forms;
}

/**
 * The base64 characters that depend on `bytes` alone when they start `offset` bytes into a
 * 3-byte group: character k carries bits [6k, 6k + 6) of the encoded stream, and is fixed
 * when all of them are the value's. The rest depend on neighbouring bytes (Basic auth's
 * "user:" prefix, whatever follows).
 */
export function base64Fixed(bytes: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(2)]).toString("base64");
  const first = Math.ceil((8 * offset) / 6);
  const last = Math.floor((8 * (offset + bytes.length)) / 6); // exclusive
  return encoded.slice(first, Math.max(first, last));
}

/** Literal characters a form's first unit can be. */
function startCodes(form: Form): number[] {
  const code = form.expected.charCodeAt(0);
  const codes = [code];
  if (form.scheme === "text" && code === 0x20) codes.push(0x2b);
  if (form.scheme === "base64" && code === 0x2b) codes.push(0x2d);
  if (form.scheme === "base64" && code === 0x2f) codes.push(0x5f);
  if (form.scheme === "hex" && code >= 0x61) codes.push(code - 0x20);
  return codes;
}

/** Literal characters a form's second unit can be (an escape or line break is always allowed). */
function secondCodes(form: Form): number[] {
  return form.expected.length < 2 ? [] : startCodes({ ...form, expected: form.expected.slice(1) });
}

/** True when a literal character `code` stands for the expected character `want`. */
function literalEquals(scheme: Scheme, code: number, want: number): boolean {
  if (code === want) return true;
  if (scheme === "text") return want === 0x20 && code === 0x2b; // form encoding
  if (scheme === "base64") return (want === 0x2b && code === 0x2d) || (want === 0x2f && code === 0x5f); // base64url
  return want >= 0x61 && code === want - 0x20; // upper-case hex
}

/**
 * Matches `form` at `start`: the end of the match, NO, or MORE when the input ends inside a
 * possible match (never MORE when `final`). `units` receives the raw text of the unit that
 * carried each expected character ("" for the later bytes of a multi-byte escape).
 */
function matchAt(text: string, start: number, form: Form, units: string[], final: boolean): number {
  return matchFrom(text, start, form, 0, units, final);
}

function matchFrom(text: string, position: number, form: Form, index: number, units: string[], final: boolean): number {
  const { expected, scheme } = form;
  let at = position;
  let j = index;
  while (j < expected.length) {
    if (scheme === "base64" && j > 0) {
      at = skipBreaks(text, at);
    }
    if (at >= text.length) return final ? NO : MORE;
    const code = text.charCodeAt(at);
    if (code === PERCENT || code === BACKSLASH) {
      const unit = decodeEscape(text, at, final);
      if (unit === MORE) return MORE;
      if (unit !== undefined && unitMatches(scheme, unit.decoded, expected, j)) {
        const mark = units.length;
        units.push(text.slice(at, at + unit.length));
        for (let extra = 1; extra < unit.decoded.length; extra++) units.push("");
        if (code !== expected.charCodeAt(j)) {
          at += unit.length;
          j += unit.decoded.length;
          continue;
        }
        // A literal "%" or "\" in the value: the escape reading and the literal one may both go on.
        const escaped = matchFrom(text, at + unit.length, form, j + unit.decoded.length, units, final);
        if (escaped !== NO) return escaped;
        units.length = mark;
      }
    }
    if (!literalEquals(scheme, code, expected.charCodeAt(j))) return NO;
    units.push(text.charAt(at));
    at += 1;
    j += 1;
  }
  return at;
}

/** Skips the line breaks a base64 encoder may put between characters (raw or JSON-escaped). */
function skipBreaks(text: string, from: number): number {
  let at = from;
  while (at - from < MAX_BREAK && at < text.length) {
    const code = text.charCodeAt(at);
    if (code === 0x0d || code === 0x0a) at += 1;
    else if (code === BACKSLASH && (text.charCodeAt(at + 1) === 0x6e || text.charCodeAt(at + 1) === 0x72)) at += 2;
    else break;
  }
  return at;
}

function unitMatches(scheme: Scheme, decoded: string, expected: string, index: number): boolean {
  if (scheme === "text") return expected.startsWith(decoded, index);
  return decoded.length === 1 && literalEquals(scheme, decoded.charCodeAt(0), expected.charCodeAt(index));
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", "'": "'" };
const HEX = /^[0-9a-fA-F]*$/;

/**
 * The escape at `at` ("%" or "\"): its decoded bytes (latin1) and length; undefined when it is
 * not an escape; MORE when the input ends inside what could still be one.
 */
function decodeEscape(text: string, at: number, final: boolean): { decoded: string; length: number } | undefined | typeof MORE {
  if (text.charCodeAt(at) === PERCENT) return hexEscape(text, at + 1, 2, 1, final);
  const kind = text.charAt(at + 1);
  if (kind === "") return final ? undefined : MORE;
  if (kind === "x") return hexEscape(text, at + 2, 2, 2, final);
  if (kind === "u") return unicodeEscape(text, at, final);
  const simple = SIMPLE_ESCAPES[kind];
  return simple === undefined ? undefined : { decoded: simple, length: 2 };
}

function hexEscape(text: string, from: number, digits: number, prefix: number, final: boolean): { decoded: string; length: number } | undefined | typeof MORE {
  const hex = text.slice(from, from + digits);
  if (!HEX.test(hex)) return undefined;
  if (hex.length < digits) return final ? undefined : MORE;
  return { decoded: String.fromCharCode(parseInt(hex, 16)), length: prefix + digits };
}

/** \uXXXX (a surrogate pair as two), decoded to the code point's UTF-8 bytes. */
function unicodeEscape(text: string, at: number, final: boolean): { decoded: string; length: number } | undefined | typeof MORE {
  const first = hexEscape(text, at + 2, 4, 2, final);
  if (first === undefined || first === MORE) return first;
  const high = first.decoded.charCodeAt(0);
  if (high < 0x80) return first;
  let codePoint = high;
  let length = 6;
  if (high >= 0xd800 && high < 0xdc00) {
    if (text.length < at + 12 && !final && /^(\\(u[0-9a-fA-F]{0,4})?)?$/.test(text.slice(at + 6))) return MORE;
    const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(text.slice(at + 6, at + 12));
    if (low === null) return undefined;
    codePoint = 0x10000 + ((high - 0xd800) << 10) + (parseInt(low[1] ?? "", 16) - 0xdc00);
    length = 12;
  } else if (high >= 0xdc00 && high < 0xe000) {
    return undefined;
  }
  return { decoded: Buffer.from(String.fromCodePoint(codePoint), "utf8").toString("latin1"), length };
}

/** The stub's form written the way the matched span wrote the value, unit by unit. */
function replacementFor(form: Form, units: readonly string[], span: string, keepLength: boolean): string {
  const url = form.scheme === "base64" && /[-_]/.test(span);
  const upper = form.scheme === "hex" && /[A-F]/.test(span) && !/[a-f]/.test(span);
  let out = "";
  for (let index = 0; index < form.replacement.length; index++) {
    let char = form.replacement.charAt(index);
    if (url) char = char === "+" ? "-" : char === "/" ? "_" : char;
    if (upper) char = char.toUpperCase();
    out += encodeLike(units[Math.min(index, units.length - 1)] ?? "", char);
  }
  if (!keepLength || out.length === span.length) return out;
  // The body's Content-Length was kept: the replacement must fill the span exactly.
  return out.length > span.length ? out.slice(0, span.length) : out + PAD[form.scheme].repeat(span.length - out.length);
}

const PAD: Record<Scheme, string> = { text: "x", base64: "A", hex: "0" };

/** `char` written in the same kind of unit as `unit`. */
function encodeLike(unit: string, char: string): string {
  if (unit.length <= 1) return char;
  const code = char.charCodeAt(0);
  const lower = /[a-f]/.test(unit.slice(1));
  const hex = (digits: number): string => {
    const text = code.toString(16).padStart(digits, "0");
    return lower ? text : text.toUpperCase();
  };
  if (unit.startsWith("%")) return `%${hex(2)}`;
  if (unit.startsWith("\\u")) return `\\u${hex(4)}`;
  if (unit.startsWith("\\x")) return `\\x${hex(2)}`;
  return char === '"' || char === "\\" || char === "/" ? `\\${char}` : char;
}
