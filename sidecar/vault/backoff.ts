// The retry schedule of one Vault operation: exponential, capped, bounded. Pure, so tests can
// assert it exactly and inject a delay function that does not wait.

export interface RetryBounds {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** Waits between tries: one fewer than the attempts, doubling from initialDelayMs, at most maxDelayMs. */
export function backoffDelays(bounds: RetryBounds): number[] {
  const delays: number[] = [];
  for (let retry = 0; retry < bounds.attempts - 1; retry++) {
    delays.push(Math.min(bounds.maxDelayMs, bounds.initialDelayMs * 2 ** retry));
  }
  return delays;
}

export type Delay = (ms: number) => Promise<void>;

export const realDelay: Delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());
