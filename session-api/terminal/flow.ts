// Per-viewer flow control as pure decisions, so the watermark rules are tested by tables and the
// hub only does the I/O they call for.

export interface FlowLimits {
  /** Bytes handed to the socket but not yet written out, above which we stop sending. */
  highWatermark: number;
  /** Sending resumes once in-flight bytes fall to this. */
  lowWatermark: number;
  /** Bytes we hold back for a paused viewer before giving up on the stream and resyncing it. */
  maxPending: number;
}

export interface FlowState {
  inflight: number;
  pending: number;
  /** The viewer dropped data and must get a fresh snapshot before anything else. */
  stale: boolean;
}

export type OfferDecision = "send" | "queue" | "overflow" | "drop";

/** What to do with a new chunk of `size` bytes for this viewer. */
export function decideOffer(state: FlowState, size: number, limits: FlowLimits): OfferDecision {
  if (state.stale) return "drop";
  // An idle viewer takes any chunk: queueing it would wait for a drain that never comes.
  if (state.pending === 0 && (state.inflight === 0 || state.inflight + size <= limits.highWatermark)) return "send";
  if (state.pending + size <= limits.maxPending) return "queue";
  return "overflow";
}

export type DrainDecision = "wait" | "flush" | "resync";

/** What to do after the socket wrote some bytes out. */
export function decideDrain(state: FlowState, limits: FlowLimits): DrainDecision {
  if (state.inflight > limits.lowWatermark) return "wait";
  if (state.stale) return "resync";
  return state.pending > 0 ? "flush" : "wait";
}

// Small on purpose: whatever we hold for a viewer is latency it will see (a keystroke's echo waits
// behind it), and a resync costs one snapshot, so about 1 MiB behind is where we cut over.
export const DEFAULT_FLOW_LIMITS: FlowLimits = {
  highWatermark: 256 << 10,
  lowWatermark: 64 << 10,
  maxPending: 768 << 10,
};

/** True when activity should be recorded now: the first time, then at most once per interval. */
export function shouldRecordActivity(lastRecordedMs: number | undefined, nowMs: number, intervalMs: number): boolean {
  return lastRecordedMs === undefined || nowMs - lastRecordedMs >= intervalMs;
}

/** Where the session behind a terminal is: attachable now, soon, or never again. */
export type TargetState = "running" | "starting" | "gone";

/** Where a session's terminal target is, from the session's phase: Pending and Starting pods will run. */
export function targetState(phase: string | undefined): TargetState {
  if (phase === "Running") return "running";
  return phase === "Pending" || phase === "Starting" ? "starting" : "gone";
}

export interface ReattachPolicy {
  baseMs: number;
  /** While the pod starts, attempts stay this close: its container may run any moment. */
  startingCapMs: number;
  /** A running pod that refuses attaches is in trouble: back off further. */
  runningCapMs: number;
}

export const DEFAULT_REATTACH: ReattachPolicy = { baseMs: 250, startingCapMs: 500, runningCapMs: 10_000 };

/**
 * Delay before the next attach attempt. `attempt` counts failures since the session's state last
 * changed (0-based), so a pod that has just become Running is tried at once however long it took
 * to start, and the exponential backoff only builds up while the state stays the same.
 */
export function reattachDelayMs(attempt: number, state: Exclude<TargetState, "gone">, policy: ReattachPolicy = DEFAULT_REATTACH): number {
  if (state === "running" && attempt === 0) return 0;
  const cap = state === "starting" ? policy.startingCapMs : policy.runningCapMs;
  return Math.min(cap, policy.baseMs * 2 ** Math.min(attempt, 16));
}
