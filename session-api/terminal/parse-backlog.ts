// What reaches the headless terminal, and when. The headless terminal only serves snapshots, and
// it parses slower than a busy program writes (about 8 MB/s on a loaded core), so it must never
// hold back the live stream to viewers nor make memory grow without bound. While the parser is
// more than `highBytes` behind, output is held here and only its last `tailBytes` are kept; that
// tail is fed to it, cut at a line start, when a snapshot or resize needs it or, once the parser
// has caught up, at most once per `releaseIntervalMs`, so that during a flood parsing takes a
// small share of a CPU that the live stream needs more.
//
// The trade: after a flood, a snapshot is built from the flood's tail rather than every byte.
// For the output that floods (line-oriented dumps, logs, `cat`), a tail longer than the screen
// plus its scrollback yields the same screen; modes set before the flood (alternate screen,
// scroll region) are kept because the terminal is not reset. Viewers attached live get every byte.
//
// Pure bookkeeping, no I/O: the caller posts what these methods return, in order.

export interface BacklogLimits {
  /** Bytes the parser may be behind before output is held instead of posted. */
  highBytes: number;
  /** Held output beyond this many trailing bytes is dropped. */
  tailBytes: number;
  /** Least time between two releases of held output that nothing asked for. */
  releaseIntervalMs: number;
}

export const DEFAULT_BACKLOG_LIMITS: BacklogLimits = { highBytes: 1 << 20, tailBytes: 512 << 10, releaseIntervalMs: 1000 };

// CAN aborts any escape sequence the parser was in the middle of when bytes were dropped.
const CANCEL = Buffer.from([0x18]);
const NEWLINE = 0x0a;

export class ParseBacklog {
  private unparsed = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private droppedSinceRelease = 0;
  private lastRelease = -Infinity;
  /** Bytes never parsed because the parser was too far behind; for stats. */
  skipped = 0;

  constructor(
    private readonly limits: BacklogLimits = DEFAULT_BACKLOG_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** New output: returns what to post to the parser now, or undefined when it is held. */
  write(chunk: Buffer): Buffer | undefined {
    if (this.heldBytes === 0 && this.unparsed + chunk.length <= this.limits.highBytes) {
      this.unparsed += chunk.length;
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
    this.lastRelease = this.now();
    return data;
  }

  private releaseIfDue(): Buffer | undefined {
    const caughtUp = this.unparsed <= this.limits.highBytes / 2;
    return caughtUp && this.now() - this.lastRelease >= this.limits.releaseIntervalMs ? this.release() : undefined;
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
