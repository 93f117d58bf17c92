// Byte-level replacement of many patterns in a stream, with a hold-back window so a pattern
// split across chunks is still found: how stubs in opted-in request bodies become real values.
// (Responses are scrubbed by secret-scrubber.ts, which decodes rather than lists forms.) Pure
// apart from Buffer allocation.

export type Replacement = readonly [from: Buffer, to: Buffer];

const EMPTY = Buffer.alloc(0);

/** A pattern set as latin1 strings, searched as strings (see searchable). */
interface Searchable {
  /** [from, to] of each replacement as latin1 strings, in the replacements' order. */
  readonly patterns: ReadonlyArray<readonly [string, string]>;
}

const searchables = new WeakMap<readonly Replacement[], Searchable>();

/**
 * Patterns are searched in latin1 strings rather than Buffers: one byte is one character, so
 * offsets are the same, and a string search costs no trip into native code. Buffer.indexOf per
 * pattern was ~19 µs of a keep-alive response's relay; the string search is ~1 µs.
 */
function searchable(replacements: readonly Replacement[]): Searchable {
  let found = searchables.get(replacements);
  if (found === undefined) {
    const patterns = replacements.map(([from, to]) => [from.toString("latin1"), to.toString("latin1")] as const);
    found = { patterns };
    searchables.set(replacements, found);
  }
  return found;
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
  if (input.length === 0) return { out: input, held: EMPTY };
  const { patterns } = searchable(replacements);
  const text = input.toString("latin1");
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const hold = holdTail ? pendingStart(text, position, patterns) : text.length;
    const [index, chosen] = earliestMatch(text, position, patterns);
    if (chosen < 0 || index >= hold) {
      const held = hold === input.length ? EMPTY : Buffer.from(input.subarray(hold));
      // No match at all: pass the input on without copying it.
      if (parts.length === 0) return { out: hold === input.length ? input : input.subarray(0, hold), held };
      parts.push(input.subarray(position, hold));
      return { out: Buffer.concat(parts), held };
    }
    const replacement = replacements[chosen];
    if (replacement === undefined) throw new Error("scrub: pattern index out of range");
    parts.push(input.subarray(position, index), replacement[1]);
    position = index + replacement[0].length;
  }
}

function earliestMatch(text: string, from: number, patterns: Searchable["patterns"]): [number, number] {
  let best = -1;
  let chosen = -1;
  for (let index = 0; index < patterns.length; index++) {
    const at = text.indexOf((patterns[index] as readonly [string, string])[0], from);
    // Ties go to the earlier entry, which is the longer pattern.
    if (at >= 0 && (best < 0 || at < best)) {
      best = at;
      chosen = index;
    }
  }
  return [best, chosen];
}

/** The start of the longest tail at or after `from` that is a proper prefix of a pattern (text.length when none). */
function pendingStart(text: string, from: number, patterns: Searchable["patterns"]): number {
  let start = text.length;
  for (const [pattern] of patterns) {
    const window = Math.min(pattern.length - 1, text.length - from);
    if (window <= 0) continue;
    // Only positions holding the pattern's first character can start a tail.
    const first = pattern.charAt(0);
    let candidate = text.indexOf(first, text.length - window);
    while (candidate >= 0 && candidate < start) {
      if (pattern.startsWith(text.slice(candidate))) {
        start = candidate;
        break;
      }
      candidate = text.indexOf(first, candidate + 1);
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
