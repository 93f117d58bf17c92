// Where a session's apply→pod-created time goes, from the operator's debug log (pino JSON lines:
// "session seen", "reconciled" with waitedMs/tookMs, "pod created", "memory") and the bench's own
// clock (epoch ms of each apply, of the create's response and of the pod's first watch event).
// Pure: the bench reads the file and the clocks, this only computes.

export interface SessionClock {
  /** Epoch ms when the bench sent the AgentSession's create, when its response came, when the bench's pod watch first saw the pod. */
  applied: number;
  createReturned?: number;
  podSeen?: number;
}

export type Stage = "apply→create returned" | "create returned→operator saw it" | "seen→reconcile started (queue)" | "reconcile started→pod POST returned" | "pod POST returned→bench saw pod";

export interface MemorySample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface Line {
  time?: number;
  msg?: string;
  session?: string;
  tookMs?: number;
  memory?: MemorySample;
}

function parse(log: string): Line[] {
  const lines: Line[] = [];
  for (const text of log.split("\n")) {
    if (!text.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      // a line cut short by the operator's exit
    }
  }
  return lines;
}

/** Per stage, each session's duration in ms (sessions missing a mark are left out of that stage). */
export function stages(log: string, namespace: string, clocks: ReadonlyMap<string, SessionClock>): Map<Stage, number[]> {
  const seen = new Map<string, number>();
  const podCreated = new Map<string, number>();
  const reconcileStart = new Map<string, number>();
  for (const l of parse(log)) {
    if (l.time === undefined || !l.session?.startsWith(`${namespace}/`)) continue;
    const name = l.session.slice(namespace.length + 1);
    if (l.msg === "session seen" && !seen.has(name)) seen.set(name, l.time);
    if (l.msg === "pod created" && !podCreated.has(name)) podCreated.set(name, l.time);
    // The reconcile that created the pod is the first one logged at or after the pod's creation.
    if (l.msg === "reconciled" && podCreated.has(name) && !reconcileStart.has(name)) reconcileStart.set(name, l.time - (l.tookMs ?? 0));
  }
  const out = new Map<Stage, number[]>();
  const add = (stage: Stage, from: number | undefined, to: number | undefined): void => {
    if (from === undefined || to === undefined) return;
    out.set(stage, [...(out.get(stage) ?? []), to - from]);
  };
  for (const [name, c] of clocks) {
    add("apply→create returned", c.applied, c.createReturned);
    add("create returned→operator saw it", c.createReturned, seen.get(name));
    add("seen→reconcile started (queue)", seen.get(name), reconcileStart.get(name));
    add("reconcile started→pod POST returned", reconcileStart.get(name), podCreated.get(name));
    add("pod POST returned→bench saw pod", podCreated.get(name), c.podSeen);
  }
  return out;
}

/** The memory sample logged when RSS was highest, or undefined without debug logs. */
export function peakMemory(log: string): MemorySample | undefined {
  let peak: MemorySample | undefined;
  for (const l of parse(log)) if (l.memory && (!peak || l.memory.rss > peak.rss)) peak = l.memory;
  return peak;
}
