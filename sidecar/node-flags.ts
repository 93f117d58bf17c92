/**
 * The V8 flags the sidecar container runs with (operator/desired.ts), and that bench:sidecar
 * runs it with. A 4 MB young generation: at 1 MB, a burst of 32 requests in flight outlived
 * each scavenge and was promoted, and the old space filled and was compacted about once a
 * second; 4 MB cut the sidecar's CPU per request by 10-15 % in alternating A/B runs, for a
 * few MB of RSS under load. The old-space ceiling makes V8 collect hard well before the
 * container's 256Mi limit, where an OOM kill would cut every connection of the agent.
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4", "--max-old-space-size=160"];
