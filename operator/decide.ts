import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import type { AgentSession, AgentSessionStatus, Condition, Phase } from "../crds/agentsession.js";
import { REASONS, type Reason } from "../crds/conditions.js";
import type { EffectiveSpec } from "../crds/merge.js";
import { setCondition } from "./conditions.js";
import { LAST_ACTIVITY, SPEC_HASH } from "./names.js";
import { SIDECAR_REASONS, unresolvedCondition, type UnresolvedCredential } from "./sidecar-log.js";

/** Why a session gets no pod although its template resolved. */
export type RefusalReason = "CredentialNotAllowed" | "TemplateRequired" | "EgressNotAllowed" | "SecretNotFound";

/** What the reconciler saw, gathered at the edge; `decide` turns it into what to do. */
export interface Observed {
  session: AgentSession;
  /** How the template resolved: none named, found (and merged), missing, or merged with violations. */
  template: { state: "none" | "found" } | { state: "missing"; name: string } | { state: "violation"; violations: string[] };
  /** Set when a credential cannot be wired into the pod (see desired()). */
  credentialsProblem?: string;
  /**
   * Set when a platform or Secret rule refuses the session (ADR 0004), or a credential's Secret
   * is missing before its pod exists: no pod is created, and for a rule a running one is removed.
   */
  refusal?: { reason: RefusalReason; message: string };
  /** The merged spec, when the template resolved. */
  spec?: EffectiveSpec;
  /** The session's pod, only when owned by this session. */
  pod?: V1Pod;
  /** Set when an object the session needs is in the way and not owned by it. */
  conflict?: string;
  /** The pod-spec hash desired() computed, to tell a stale pod from a current one. */
  desiredHash?: string;
  /** Credentials a sidecar that has not started says it cannot resolve (read from its log). */
  sidecarUnresolved?: UnresolvedCredential[];
  /** Set when a credential's Secret (or its key) does not exist: which, and what to do. */
  secretsMissing?: string;
  /** Set when the upstream-CA ConfigMap the pod mounts does not exist: what to do about it. */
  upstreamCaMissing?: string;
  now: Date;
}

export interface Decision {
  status: AgentSessionStatus;
  /** Create or update the session's objects with server-side apply. */
  apply: boolean;
  /** Remove the pod: it expired, or its spec is stale and it will be recreated. */
  deletePod: boolean;
  /** Remove the session itself: its ttlSecondsAfterFinished elapsed. */
  deleteSession: boolean;
  /** Reconcile again after this long even if nothing changes (expiry deadlines). */
  requeueAfterMs?: number;
  /** An event to record when the phase changed. */
  event?: { type: "Normal" | "Warning"; reason: string; message: string };
}

const TERMINAL: readonly Phase[] = ["Succeeded", "Failed", "Expired"];
const WARNINGS: ReadonlySet<Reason> = new Set<Reason>(["TemplateNotFound", "TemplateViolation", "PodConflict", "CredentialsUnavailable", "SecretNotFound", "CredentialNotAllowed", "TemplateRequired", "EgressNotAllowed", "SidecarFailing", "UpstreamCANotFound", ...SIDECAR_REASONS]);

interface Draft {
  phase: Phase;
  message: string;
  reasons: [Reason, string][];
  apply?: boolean;
  deletePod?: boolean;
  deleteSession?: boolean;
  requeueAfterMs?: number;
  exitCode?: number;
  completionTime?: string;
  startTime?: string;
}

/**
 * The phase machine. Pure: the same observation gives the same decision, and a status that did
 * not change comes out deep-equal to the one in, so the caller writes /status only on change.
 */
export function decide(o: Observed): Decision {
  const prev = o.session.status ?? {};
  const now = o.now.toISOString();
  const draft = draftFor(o, prev);
  const generation = o.session.metadata.generation;
  let conditions: Condition[] = prev.conditions ?? [];
  for (const [reason, message] of draft.reasons) conditions = setCondition(conditions, reason, message, now, generation);
  const activity = lastActivity(o.session);
  const status: AgentSessionStatus = {
    ...prev,
    phase: draft.phase,
    conditions,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(o.spec ? { mode: o.spec.lifecycle?.mode ?? "Interactive" } : {}),
    ...(o.pod?.metadata?.name ? { podName: o.pod.metadata.name } : {}),
    ...(draft.startTime ?? prev.startTime ? { startTime: draft.startTime ?? prev.startTime } : {}),
    ...(draft.completionTime ?? prev.completionTime ? { completionTime: draft.completionTime ?? prev.completionTime } : {}),
    ...(draft.exitCode ?? prev.exitCode) !== undefined ? { exitCode: draft.exitCode ?? prev.exitCode } : {},
    ...(activity ? { lastActivityTime: activity } : {}),
    message: draft.message,
  };
  const changed = prev.phase !== draft.phase;
  const warning = ["Failed", "Expired"].includes(draft.phase) || draft.reasons.some(([r]) => WARNINGS.has(r));
  // A problem that appears without a phase change (the pod stays Starting) still gets an event.
  const newProblem = draft.reasons.find(([r]) => WARNINGS.has(r) && !(prev.conditions ?? []).some((c) => c.reason === r));
  const event: Decision["event"] = changed
    ? { type: warning ? "Warning" : "Normal", reason: draft.phase, message: draft.message }
    : newProblem
      ? { type: "Warning", reason: newProblem[0], message: newProblem[1] }
      : undefined;
  return {
    status,
    apply: draft.apply ?? false,
    deletePod: draft.deletePod ?? false,
    deleteSession: draft.deleteSession ?? false,
    ...(draft.requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(0, draft.requeueAfterMs) } : {}),
    ...(event ? { event } : {}),
  };
}

function draftFor(o: Observed, prev: AgentSessionStatus): Draft {
  if (o.session.metadata.deletionTimestamp) return { phase: "Terminating", message: "the session is being deleted", reasons: [] };
  if (prev.phase && TERMINAL.includes(prev.phase)) return finished(o, prev);
  if (o.template.state === "missing") {
    const msg = `AgentTemplate ${o.template.name} not found in namespace ${o.session.metadata.namespace ?? ""}; create it or fix spec.templateRef.name`;
    return { phase: "Pending", message: msg, reasons: [["TemplateNotFound", msg], ["PodNotCreated", msg]] };
  }
  if (o.template.state === "violation") {
    const msg = o.template.violations.join("; ");
    return { phase: "Pending", message: msg, reasons: [["TemplateViolation", msg], ["PodNotCreated", "fix the session spec; see TemplateResolved"]] };
  }
  const templateReason: [Reason, string] = o.template.state === "found" ? ["TemplateFound", ""] : ["NoTemplate", ""];
  if (o.credentialsProblem) {
    return { phase: "Pending", message: o.credentialsProblem, reasons: [templateReason, ["CredentialsUnavailable", o.credentialsProblem], ["PodNotCreated", "see CredentialsResolved"]] };
  }
  if (o.refusal) return refused(o, o.refusal, templateReason);
  if (o.conflict) return { phase: "Pending", message: o.conflict, reasons: [templateReason, ["PodConflict", o.conflict]] };

  const expiry = expired(o, prev);
  if (expiry.expired) {
    return { phase: "Expired", message: expiry.message, reasons: [templateReason, ["Expired", expiry.message]], deletePod: o.pod !== undefined, completionTime: o.now.toISOString() };
  }
  const withDeadline = (d: Draft): Draft => (expiry.inMs !== undefined ? { ...d, requeueAfterMs: expiry.inMs } : d);

  if (!o.pod) {
    return { phase: "Pending", message: "creating the session's pod", reasons: [templateReason, ["PodNotCreated", "creating the session's pod"], ["PodPending", "the pod does not exist yet"]], apply: true };
  }
  return withDeadline(fromPod(o, o.pod, templateReason));
}

function fromPod(o: Observed, pod: V1Pod, templateReason: [Reason, string]): Draft {
  const batch = o.spec?.lifecycle?.mode === "Batch";
  const stale = o.desiredHash !== undefined && pod.metadata?.annotations?.[SPEC_HASH] !== o.desiredHash;
  const agent = pod.status?.containerStatuses?.find((c) => c.name === "agent");
  const sidecar = pod.status?.initContainerStatuses?.find((c) => c.name === "sidecar");
  const reasons: [Reason, string][] = [templateReason, scheduled(pod), credentials(sidecar, o.sidecarUnresolved, o.secretsMissing)];
  const terminated = agent?.state?.terminated;
  if (pod.metadata?.deletionTimestamp) {
    // A pod on its way out (replaced after a spec change, or deleted by someone) says nothing
    // about the session: its agent is being killed. Wait for it; the next pod is created then.
    const msg = "waiting for the previous pod to terminate";
    return { phase: "Starting", message: msg, reasons: [...reasons, ["Starting", msg]] };
  }
  if (batch && terminated) {
    const code = terminated.exitCode;
    const ok = code === 0;
    const msg = `the agent exited with code ${code}${terminated.reason ? ` (${terminated.reason})` : ""}`;
    return { phase: ok ? "Succeeded" : "Failed", message: msg, reasons: [...reasons, ["Finished", msg]], exitCode: code, completionTime: isoOf(terminated.finishedAt) ?? o.now.toISOString() };
  }
  if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") {
    const msg = `the pod ${pod.status.phase === "Failed" ? "failed" : "ended"}: ${pod.status.reason ?? "unknown reason"}${pod.status.message ? ` — ${pod.status.message}` : ""}`;
    return { phase: "Failed", message: msg, reasons: [...reasons, ["PodFailed", msg]], completionTime: o.now.toISOString(), ...(terminated ? { exitCode: terminated.exitCode } : {}) };
  }
  if (stale) {
    const msg = "the spec changed; replacing the pod";
    // Apply first (the new sidecar config must be in place before the new pod reads it), then
    // delete the pod; the next reconcile creates its replacement.
    return { phase: "Starting", message: msg, reasons: [...reasons, ["Starting", msg]], apply: true, deletePod: true };
  }
  const running = agent?.state?.running;
  if (pod.status?.phase === "Running" && running) {
    // A warm pod's agent started before the session existed: the session's clock (ttlSeconds,
    // idleTimeoutSeconds) starts no earlier than the session itself.
    const started = latest(isoOf(running.startedAt), isoOf(o.session.metadata.creationTimestamp));
    return { phase: "Running", message: "the agent is running", reasons: [...reasons, ["Running", ""]], apply: true, startTime: started ?? o.now.toISOString() };
  }
  const unschedulable = reasons[1]![0] === "Unschedulable";
  if (!unschedulable && !sidecar?.started && o.upstreamCaMissing) {
    return { phase: "Starting", message: o.upstreamCaMissing, reasons: [...reasons, ["UpstreamCANotFound", o.upstreamCaMissing]], apply: true };
  }
  const unresolved = ([...SIDECAR_REASONS, "SecretNotFound"] as readonly string[]).includes(reasons[2]![0]);
  const msg = unschedulable ? reasons[1]![1] : unresolved ? reasons[2]![1] : waitingMessage(agent, sidecar);
  return { phase: unschedulable ? "Pending" : "Starting", message: msg, reasons: [...reasons, ["Starting", msg]], apply: true };
}

function refused(o: Observed, r: NonNullable<Observed["refusal"]>, templateReason: [Reason, string]): Draft {
  // A rule refusing a running session (a Secret's rule narrowed, the bound lowered) takes its
  // pod away: the rule says the value must not reach those hosts any more. A Secret that went
  // missing under a running pod is left to the pod (the kubelet keeps what it mounted).
  const byRule = r.reason !== "SecretNotFound";
  const ready: [Reason, string] = REASONS[r.reason].type === "Ready" ? [r.reason, r.message] : ["PodNotCreated", "see CredentialsResolved"];
  const reasons: [Reason, string][] = [templateReason, ...(REASONS[r.reason].type === "Ready" ? [] : [[r.reason, r.message] as [Reason, string]]), ready];
  return { phase: "Pending", message: r.message, reasons, deletePod: byRule && o.pod !== undefined, ...(byRule ? {} : { requeueAfterMs: SECRET_RETRY_MS }) };
}

/** How often a session whose credential Secret is missing looks again (Secrets are not watched). */
export const SECRET_RETRY_MS = 5_000;

function finished(o: Observed, prev: AgentSessionStatus): Draft {
  // Keep the Ready reason the session finished with (Finished, PodFailed, Expired), refreshed
  // with the current generation.
  const ready = prev.conditions?.find((c) => c.type === "Ready");
  const reason: Reason = ready && ready.reason in REASONS ? (ready.reason as Reason) : prev.phase === "Expired" ? "Expired" : "Finished";
  const draft: Draft = { phase: prev.phase!, message: prev.message ?? "", reasons: [[reason, ready?.message ?? prev.message ?? ""]], deletePod: prev.phase === "Expired" && o.pod !== undefined };
  const ttl = (o.spec ?? o.session.spec).lifecycle?.ttlSecondsAfterFinished;
  const mode = (o.spec ?? o.session.spec).lifecycle?.mode;
  if (ttl !== undefined && mode === "Batch" && prev.completionTime) {
    const dueIn = Date.parse(prev.completionTime) + ttl * 1000 - o.now.getTime();
    if (dueIn <= 0) draft.deleteSession = true;
    else draft.requeueAfterMs = dueIn;
  }
  return draft;
}

/** ttlSeconds counts from startTime; idleTimeoutSeconds from the later of start and last activity. */
function expired(o: Observed, prev: AgentSessionStatus): { expired: true; message: string } | { expired: false; inMs?: number } {
  const life = o.spec?.lifecycle;
  const start = prev.startTime ? Date.parse(prev.startTime) : undefined;
  if (!life || start === undefined) return { expired: false };
  const nowMs = o.now.getTime();
  const deadlines: { at: number; message: string }[] = [];
  if (life.ttlSeconds !== undefined) deadlines.push({ at: start + life.ttlSeconds * 1000, message: `ttlSeconds (${life.ttlSeconds}) elapsed since the session started` });
  if (life.idleTimeoutSeconds !== undefined && (life.mode ?? "Interactive") === "Interactive") {
    const activity = lastActivity(o.session);
    const last = Math.max(start, activity ? Date.parse(activity) : 0);
    deadlines.push({ at: last + life.idleTimeoutSeconds * 1000, message: `no terminal activity for idleTimeoutSeconds (${life.idleTimeoutSeconds})` });
  }
  const due = deadlines.find((d) => d.at <= nowMs);
  if (due) return { expired: true, message: due.message };
  if (deadlines.length === 0) return { expired: false };
  return { expired: false, inMs: Math.min(...deadlines.map((d) => d.at)) - nowMs };
}

function lastActivity(session: AgentSession): string | undefined {
  const raw = session.metadata.annotations?.[LAST_ACTIVITY];
  if (!raw) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function scheduled(pod: V1Pod): [Reason, string] {
  const c = pod.status?.conditions?.find((x) => x.type === "PodScheduled");
  if (c?.status === "True") return ["Scheduled", pod.spec?.nodeName ? `on node ${pod.spec.nodeName}` : ""];
  if (c?.status === "False") return ["Unschedulable", `the pod cannot be scheduled: ${c.message ?? c.reason ?? "no reason given"}`];
  return ["PodPending", "waiting for the scheduler"];
}

function credentials(sidecar: V1ContainerStatus | undefined, unresolved: readonly UnresolvedCredential[] | undefined, secretsMissing: string | undefined): [Reason, string] {
  if (sidecar?.started) return ["SidecarStarted", ""];
  if (secretsMissing) return ["SecretNotFound", secretsMissing];
  if (unresolved && unresolved.length > 0) {
    const c = unresolvedCondition(unresolved);
    return [c.reason, c.message];
  }
  const last = sidecar?.lastState?.terminated ?? sidecar?.state?.terminated;
  if (last || (sidecar?.restartCount ?? 0) > 0) {
    return ["SidecarFailing", `the sidecar exited${last ? ` with code ${last.exitCode}` : ""} before starting; check \`kubectl logs <pod> -c sidecar\` for the credential source it could not read`];
  }
  return ["SidecarStarting", "waiting for the sidecar's startup probe"];
}

function waitingMessage(agent: V1ContainerStatus | undefined, sidecar: V1ContainerStatus | undefined): string {
  const waiting = agent?.state?.waiting ?? sidecar?.state?.waiting;
  if (waiting?.reason) return `waiting: ${waiting.reason}${waiting.message ? ` — ${waiting.message}` : ""}`;
  return sidecar?.started ? "the agent is starting" : "the sidecar is starting";
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function isoOf(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
