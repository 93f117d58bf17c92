// Byte-level replacement of many patterns in a stream, with a hold-back window so a pattern
// split across chunks is still found, and the encoded forms of a secret that responses are
// scrubbed of. Pure apart from Buffer allocation.

export type Replacement = readonly [from: Buffer, to: Buffer];

const EMPTY = Buffer.alloc(0);

/**
 * The forms of `secret` a response could reflect, each paired with the same form of `stub`:
 * raw, base64 / base64url (at all three byte alignments, so a value inside a larger encoded
 * string such as Basic auth's "user:secret" is found too), URL-encoded and JSON-escaped.
 */
export function secretForms(secret: string, stub: string): Replacement[] {
  const pairs = new Map<string, string>();
  const add = (from: string, to: string): void => {
    if (from.length >= 4 && !pairs.has(from)) pairs.set(from, to);
  };
  add(secret, stub);
  for (const [from, to] of zip(base64Forms(secret), base64Forms(stub))) {
    add(from, to);
    add(toBase64Url(from), toBase64Url(to));
  }
  add(encodeURIComponent(secret), encodeURIComponent(stub));
  add(lowerPercent(encodeURIComponent(secret)), lowerPercent(encodeURIComponent(stub)));
  add(formEncode(secret), formEncode(stub));
  add(jsonEscape(secret), jsonEscape(stub));
  add(jsonEscape(secret).replaceAll("/", "\\/"), jsonEscape(stub).replaceAll("/", "\\/"));
  add(jsonEscapeAll(secret), jsonEscapeAll(stub));
  // Longest first, so a longer form is replaced before a shorter form inside it.
  return [...pairs.entries()]
    .sort((a, b) => b[0].length - a[0].length)
    .map(([from, to]) => [Buffer.from(from, "latin1"), Buffer.from(to, "latin1")] as const);
}

function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const padded = bytes.toString("base64");
  const forms = [padded, padded.replace(/=+$/, "")];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    // Drop the characters that also depend on neighbouring bytes: the first group when
    // something precedes the value, and the last, incomplete group.
    const start = offset === 0 ? 0 : 4;
    const end = (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 4;
    forms.push(encoded.slice(start, Math.max(start, end)));
  }
  return forms;
}

function zip<A, B>(a: A[], b: B[]): Array<[A, B]> {
  return a.flatMap((item, index) => (index < b.length ? [[item, b[index] as B] as [A, B]] : []));
}

function toBase64Url(value: string): string {
  return value.replaceAll("+", "-").replaceAll("/", "_");
}

function lowerPercent(value: string): string {
  return value.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replaceAll("%20", "+");
}

function jsonEscape(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

function jsonEscapeAll(value: string): string {
  return value.replace(/[^A-Za-z0-9]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const patternStrings = new WeakMap<readonly Replacement[], ReadonlyArray<readonly [string, string]>>();

/**
 * Replaces every pattern in a latin1 string (a header value). Checks with string search first,
 * so the common value that holds no pattern costs no Buffer at all.
 */
export function replaceAllInString(value: string, replacements: readonly Replacement[]): string {
  let patterns = patternStrings.get(replacements);
  if (patterns === undefined) {
    patterns = replacements.map(([from, to]) => [from.toString("latin1"), to.toString("latin1")] as const);
    patternStrings.set(replacements, patterns);
  }
  if (!patterns.some(([from]) => value.includes(from))) return value;
  return replaceAll(Buffer.from(value, "latin1"), replacements).toString("latin1");
}

/** Replaces every pattern in one complete buffer. */
export function replaceAll(input: Buffer, replacements: readonly Replacement[]): Buffer {
  return replaceUpTo(input, replacements, false).out;
}

/**
 * Replaces patterns left to right. With `holdTail`, stops at the earliest tail that is still a
 * proper prefix of some pattern (it could turn into a longer match once more bytes come) and
 * returns that tail unreplaced.
 */
function replaceUpTo(input: Buffer, replacements: readonly Replacement[], holdTail: boolean): { out: Buffer; held: Buffer } {
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const hold = holdTail ? pendingStart(input, position, replacements) : input.length;
    const [index, chosen] = earliestMatch(input, position, replacements);
    if (chosen === undefined || index >= hold) {
      const held = hold === input.length ? EMPTY : Buffer.from(input.subarray(hold));
      // No match at all: pass the input on without copying it.
      if (parts.length === 0) return { out: hold === input.length ? input : input.subarray(0, hold), held };
      parts.push(input.subarray(position, hold));
      return { out: Buffer.concat(parts), held };
    }
    parts.push(input.subarray(position, index), chosen[1]);
    position = index + chosen[0].length;
  }
}

function earliestMatch(input: Buffer, from: number, replacements: readonly Replacement[]): [number, Replacement | undefined] {
  let best = -1;
  let chosen: Replacement | undefined;
  for (const replacement of replacements) {
    const index = input.indexOf(replacement[0], from);
    // Ties go to the earlier entry, which is the longer pattern.
    if (index >= 0 && (best < 0 || index < best)) {
      best = index;
      chosen = replacement;
    }
  }
  return [best, chosen];
}

/** The start of the longest tail at or after `from` that is a proper prefix of a pattern. */
function pendingStart(input: Buffer, from: number, replacements: readonly Replacement[]): number {
  let start = input.length;
  for (const [pattern] of replacements) {
    const first = pattern[0];
    if (first === undefined) continue;
    const window = Math.min(pattern.length - 1, input.length - from);
    // Only positions holding the pattern's first byte can start a tail: let indexOf find them
    // (a per-byte loop here cost more than the rest of a small response's relay).
    let candidate = window > 0 ? input.indexOf(first, input.length - window) : -1;
    while (candidate >= 0 && candidate < start) {
      if (input.subarray(candidate).equals(pattern.subarray(0, input.length - candidate))) {
        start = candidate;
        break;
      }
      candidate = input.indexOf(first, candidate + 1);
    }
  }
  return start;
}

/**
 * Streaming replacement: each push returns what may be sent now; the tail that could be the
 * start of a pattern is held back until the next chunk shows whether it is. Only such a tail is
 * held, so a chunk ending in anything else (an SSE event's blank line) flows out at once.
 */
export class StreamReplacer {
  private held: Buffer = EMPTY;
  private readonly replacements: readonly Replacement[];

  constructor(replacements: readonly Replacement[]) {
    this.replacements = replacements;
  }

  push(chunk: Buffer): Buffer {
    const input = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const { out, held } = replaceUpTo(input, this.replacements, true);
    this.held = held;
    return out;
  }

  end(): Buffer {
    const rest = replaceAll(this.held, this.replacements);
    this.held = EMPTY;
    return rest;
  }
}
