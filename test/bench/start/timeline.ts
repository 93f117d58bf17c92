// Where a session's start-up time goes: a pod watch in the bench's namespace notes when each
// step of a session's pod is first seen (kubelet timestamps have one-second resolution; these
// are the bench's own clock, late by at most the kubelet's status-update delay).
import * as k8s from "@kubernetes/client-node";

export const STEPS = [
  "podCreated",
  "scheduled",
  "captureRunning",
  "captureDone",
  "sidecarRunning",
  "sidecarStarted",
  "agentRunning",
  "podReady",
] as const;
export type Step = (typeof STEPS)[number];

function state(statuses: k8s.V1ContainerStatus[] | undefined, name: string): k8s.V1ContainerStatus | undefined {
  return statuses?.find((s) => s.name === name);
}

/** The steps a pod has reached, judged from one observed version of it. */
export function stepsReached(pod: k8s.V1Pod): Set<Step> {
  const reached = new Set<Step>(["podCreated"]);
  if (pod.spec?.nodeName) reached.add("scheduled");
  const capture = state(pod.status?.initContainerStatuses, "egress-capture");
  if (capture?.state?.running || capture?.state?.terminated) reached.add("captureRunning");
  if (capture?.state?.terminated?.exitCode === 0) reached.add("captureDone");
  const sidecar = state(pod.status?.initContainerStatuses, "sidecar");
  if (sidecar?.state?.running) reached.add("sidecarRunning");
  if (sidecar?.started === true) reached.add("sidecarStarted");
  if (state(pod.status?.containerStatuses, "agent")?.state?.running) reached.add("agentRunning");
  if (pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) reached.add("podReady");
  // A later step implies the earlier ones even when no status showed them in between.
  const last = Math.max(...[...reached].map((s) => STEPS.indexOf(s)));
  for (const step of STEPS.slice(0, last + 1)) reached.add(step);
  return reached;
}

export interface Timeline {
  /** Epoch ms each pod (by name) was first seen at each step. */
  seen: Map<string, Partial<Record<Step, number>>>;
  stop(): void;
}

/** Watches the pods of `namespace` and notes when each first reaches each step. */
export async function watchTimeline(kc: k8s.KubeConfig, namespace: string): Promise<Timeline> {
  const seen = new Map<string, Partial<Record<Step, number>>>();
  const note = (pod: k8s.V1Pod): void => {
    const name = pod.metadata?.name;
    if (!name) return;
    const now = Date.now();
    const times = seen.get(name) ?? {};
    for (const step of stepsReached(pod)) times[step] ??= now;
    seen.set(name, times);
  };
  let stopped = false;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    controller = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (phase: string, pod: k8s.V1Pod) => {
        if (phase === "ADDED" || phase === "MODIFIED") note(pod);
      },
      (error: unknown) => {
        if (stopped) return;
        // A watch the API server ends (or that fails) is started again: a step seen late is only late.
        if (error) console.error(`[bench:start] pod watch ended (restarting): ${String(error)}`);
        start().catch((cause: unknown) => console.error(`[bench:start] cannot restart the pod watch: ${String(cause)}`));
      },
    );
  };
  await start();
  return {
    seen,
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
}

export interface RunningWatch {
  /** Epoch ms each session was first seen Running, and the pod it named then. */
  running: Map<string, { at: number; podName: string }>;
  stop(): void;
}

/**
 * Watches the AgentSessions of `namespace` and notes when each is first seen Running: one watch
 * instead of every session polling the API server ten times a second, which loaded the very
 * server the measured path goes through.
 */
export async function watchRunning(kc: k8s.KubeConfig, namespace: string): Promise<RunningWatch> {
  const running = new Map<string, { at: number; podName: string }>();
  let stopped = false;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    controller = await new k8s.Watch(kc).watch(
      `/apis/agentbox.dev/v1alpha1/namespaces/${namespace}/agentsessions`,
      {},
      (phase: string, s: { metadata?: { name?: string }; status?: { phase?: string; podName?: string } }) => {
        const name = s.metadata?.name;
        if ((phase === "ADDED" || phase === "MODIFIED") && name && s.status?.phase === "Running" && !running.has(name)) running.set(name, { at: Date.now(), podName: s.status.podName ?? "" });
      },
      (error: unknown) => {
        if (stopped) return;
        if (error) console.error(`[bench:start] session watch ended (restarting): ${String(error)}`);
        start().catch((cause: unknown) => console.error(`[bench:start] cannot restart the session watch: ${String(cause)}`));
      },
    );
  };
  await start();
  return {
    running,
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
}
