// What reaches the headless terminal, and when. The headless terminal only serves snapshots, and
// it parses slower than a busy program writes (about 10 MB/s on a loaded core), so it must never
// hold back the live stream to viewers, take the CPU the live stream needs, nor make memory grow
// without bound. Output goes to the parser while it stays within a byte budget (a token bucket:
// `parseBytesPerSecond`, bursts of `burstBytes`) and the parser is at most `highBytes` behind.
// Past that, output is held here and only its last `tailBytes` are kept; the held tail is fed to
// the parser, cut at a line start, when the budget allows again or at once when a snapshot or a
// resize needs the screen to be current.
//
// The trade: after a flood, a snapshot is built from the flood's tail rather than every byte.
// For the output that floods (line-oriented dumps, logs, `cat`), a tail longer than the screen
// plus its scrollback yields the same screen; modes set before the flood (alternate screen,
// scroll region, colours) are kept because the terminal is not reset. Live viewers get every byte.
//
// Pure bookkeeping, no I/O: the caller posts what these methods return, in order.

export interface BacklogLimits {
  /** Bytes the parser may be behind before output is held instead of posted. */
  highBytes: number;
  /** Held output beyond this many trailing bytes is dropped. */
  tailBytes: number;
  /** Sustained bytes per second the parser is given while output floods. */
  parseBytesPerSecond: number;
  /** Bytes the parser may be given at once beyond that rate. */
  burstBytes: number;
}

export const DEFAULT_BACKLOG_LIMITS: BacklogLimits = {
  highBytes: 1 << 20,
  tailBytes: 512 << 10,
  parseBytesPerSecond: 1 << 20,
  burstBytes: 1 << 20,
};

// CAN aborts any escape sequence the parser was in the middle of when bytes were dropped.
const CANCEL = Buffer.from([0x18]);
const NEWLINE = 0x0a;

export class ParseBacklog {
  private unparsed = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private droppedSinceRelease = 0;
  private tokens: number;
  private refilledAt: number;
  /** Bytes never parsed because the parser was too far behind; for stats. */
  skipped = 0;

  constructor(
    private readonly limits: BacklogLimits = DEFAULT_BACKLOG_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limits.burstBytes;
    this.refilledAt = now();
  }

  /** New output: returns what to post to the parser now, or undefined when it is held. */
  write(chunk: Buffer): Buffer | undefined {
    if (this.heldBytes === 0 && this.fits(chunk.length)) {
      this.unparsed += chunk.length;
      this.tokens -= chunk.length;
      return chunk;
    }
    this.hold(chunk);
    return this.releaseIfDue();
  }

  /** The parser reports `bytes` parsed: returns held output to post if it is due. */
  parsed(bytes: number): Buffer | undefined {
    this.unparsed = Math.max(0, this.unparsed - bytes);
    return this.releaseIfDue();
  }

  /**
   * Everything held, for posting before something that must come after it in the stream (a
   * resize, a snapshot request). Undefined when nothing is held.
   */
  release(): Buffer | undefined {
    if (this.heldBytes === 0) return undefined;
    let data = this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held, this.heldBytes);
    if (this.droppedSinceRelease > 0) {
      const lineStart = data.indexOf(NEWLINE) + 1;
      this.skipped += lineStart;
      data = Buffer.concat([CANCEL, data.subarray(lineStart)]);
    }
    this.held = [];
    this.heldBytes = 0;
    this.droppedSinceRelease = 0;
    this.unparsed += data.length;
    // An asked-for release may overdraw the budget; it is paid back before the next one.
    this.refill();
    this.tokens -= data.length;
    return data;
  }

  private fits(bytes: number): boolean {
    this.refill();
    return this.tokens >= bytes && this.unparsed + bytes <= this.limits.highBytes;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.limits.burstBytes, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.parseBytesPerSecond);
    this.refilledAt = now;
  }

  private releaseIfDue(): Buffer | undefined {
    return this.heldBytes > 0 && this.fits(Math.min(this.heldBytes, this.limits.tailBytes)) ? this.release() : undefined;
  }

  private hold(chunk: Buffer): void {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    // Keep whole chunks while the oldest one is not needed to make up the tail.
    for (let first = this.held[0]; first && this.heldBytes - first.length >= this.limits.tailBytes; first = this.held[0]) {
      this.held.shift();
      this.heldBytes -= first.length;
      this.droppedSinceRelease += first.length;
      this.skipped += first.length;
    }
    // One huge chunk: keep only its tail.
    if (this.held.length === 1 && this.heldBytes > this.limits.tailBytes) {
      const only = this.held[0] as Buffer;
      const cut = only.length - this.limits.tailBytes;
      this.held = [only.subarray(cut)];
      this.heldBytes -= cut;
      this.droppedSinceRelease += cut;
      this.skipped += cut;
    }
  }
}
