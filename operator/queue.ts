/** Schedules `fn` after `ms`; returns a cancel function. Injected so tests control time. */
export type Scheduler = (fn: () => void, ms: number) => () => void;

export const realScheduler: Scheduler = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  scheduler?: Scheduler;
  now?: () => number;
}

/**
 * A de-duplicating work queue keyed by `namespace/name`, in the manner of client-go's
 * workqueue: a key is queued at most once, is never handed to two workers at the same time (a
 * key added while it is being processed is queued again when `done` is called), and failures
 * come back after an exponential backoff.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys served before `queue`: work that nothing has been done for yet (new sessions). */
  private readonly urgent: string[] = [];
  private readonly since = new Map<string, number>();
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; cancel: () => void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly base: number;
  private readonly max: number;
  private readonly schedule: Scheduler;
  private readonly now: () => number;

  constructor(opts: QueueOptions = {}) {
    this.base = opts.baseDelayMs ?? 100;
    this.max = opts.maxDelayMs ?? 60_000;
    this.schedule = opts.scheduler ?? realScheduler;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Queues `key`. An urgent key is served before every ordinary one, so a burst of new sessions
   * is not kept waiting behind follow-up reconciles of sessions that already have their pods;
   * a key already queued as ordinary moves up when added as urgent.
   */
  add(key: string, opts: { urgent?: boolean } = {}): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) {
      const at = opts.urgent ? this.queue.indexOf(key) : -1;
      if (at >= 0) {
        this.queue.splice(at, 1);
        this.urgent.push(key);
      }
      return;
    }
    this.queued.add(key);
    this.since.set(key, this.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queued.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      (opts.urgent ? this.urgent : this.queue).push(key);
    }
  }

  /** How long the key being processed waited in the queue, in ms. */
  waitedMs(key: string): number | undefined {
    const t = this.since.get(key);
    return t === undefined ? undefined : this.now() - t;
  }

  /** Adds `key` after `ms`; an earlier pending timer for the key wins over a later one. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.schedule(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, cancel });
  }

  /** Requeues a failed key after base·2^(failures) ms, capped; returns the delay chosen. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.max, this.base * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears a key's failure count after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.urgent.shift() ?? this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    this.since.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.urgent.length + this.queue.length;
  }

  get busy(): number {
    return this.processing.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
