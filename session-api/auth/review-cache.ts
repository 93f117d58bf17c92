// A short-lived memory of TokenReview and SubjectAccessReview answers, as kube-rbac-proxy keeps:
// twenty terminals opened at once by one person would otherwise send twenty identical
// TokenReviews to an API server that is busy starting their pods. Keys are SHA-256 digests, so
// a token is never held as a key; identical questions asked while one is in flight share its
// answer; failures are never remembered; the map is bounded.
import { createHash } from "node:crypto";

export interface CachePolicy {
  /** How long an allowing answer is served from memory: the revocation latency. */
  allowTtlMs: number;
  /** How long a refusal is served; never longer than an allowing answer. */
  denyTtlMs: number;
  maxEntries: number;
}

// Ten seconds is the longest a revoked token or a removed RoleBinding keeps working here.
export const DEFAULT_CACHE_POLICY: CachePolicy = { allowTtlMs: 10_000, denyTtlMs: 2_000, maxEntries: 4096 };

/** Rejects a policy that would serve a refusal longer than a grant, or anything beyond 10 s. */
export function checkPolicy(policy: CachePolicy): CachePolicy {
  if (policy.allowTtlMs > 10_000) throw new Error(`allowTtlMs ${policy.allowTtlMs} is above 10000: revocation would take longer than 10 s`);
  if (policy.denyTtlMs > policy.allowTtlMs) throw new Error("denyTtlMs must not exceed allowTtlMs");
  if (policy.maxEntries < 1) throw new Error("maxEntries must be at least 1");
  return policy;
}

/** Until when an answer may be served: allowing and refusing answers have their own TTL. */
export function expiresAt(allowed: boolean, nowMs: number, policy: CachePolicy): number {
  return nowMs + (allowed ? policy.allowTtlMs : policy.denyTtlMs);
}

/** Whether a remembered answer may still be served at `nowMs`. */
export function fresh(entry: { expiresAtMs: number }, nowMs: number): boolean {
  return nowMs < entry.expiresAtMs;
}

/** The cache key of a question: a digest of its exact parts, in order. */
export function digest(parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

interface Entry<V> {
  value: V;
  expiresAtMs: number;
}

export class ReviewCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(
    private readonly policy: CachePolicy,
    /** Whether an answer allows: decides its TTL. */
    private readonly allows: (value: V) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    checkPolicy(policy);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered answer for `key`, or the answer of `ask` (shared with concurrent callers). */
  async answer(key: string, ask: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && fresh(entry, this.now())) return entry.value;
    if (entry) this.entries.delete(key);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    // The TTL runs from when the question was asked, not from when the answer came back.
    const askedAt = this.now();
    const asked = ask()
      .then((value) => {
        this.remember(key, value, askedAt);
        return value;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, asked);
    return asked;
  }

  private remember(key: string, value: V, askedAt: number): void {
    if (this.entries.size >= this.policy.maxEntries) this.evict(this.now());
    this.entries.set(key, { value, expiresAtMs: expiresAt(this.allows(value), askedAt, this.policy) });
  }

  // Expired entries go first; if all are fresh, the oldest insertions make room.
  private evict(now: number): void {
    for (const [key, entry] of this.entries) if (!fresh(entry, now)) this.entries.delete(key);
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.policy.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
