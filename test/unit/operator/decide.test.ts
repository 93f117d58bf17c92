import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { decide, type Decision, type Observed } from "../../../operator/decide.js";
import { mergeTemplate } from "../../../crds/merge.js";
import type { AgentSessionStatus } from "../../../crds/agentsession.js";
import { session } from "./fixtures.js";

const NOW = new Date("2026-11-25T12:00:00.000Z");
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString();

function observed(spec: Record<string, unknown>, over: Partial<Observed> = {}, status?: AgentSessionStatus, annotations?: Record<string, string>): Observed {
  const s = session("s", spec, annotations ? { annotations } : {});
  if (status) s.status = status;
  const merged = mergeTemplate(s.spec, undefined);
  return { session: s, template: { state: "none" }, ...(merged.ok ? { spec: merged.spec } : {}), desiredHash: "h1", now: NOW, ...over };
}

const interactive = { agent: { image: "a:1" } };
const batch = { agent: { image: "a:1" }, lifecycle: { mode: "Batch", ttlSecondsAfterFinished: 60 } };

function pod(opts: { phase?: string; hash?: string; scheduled?: "True" | "False"; sidecarStarted?: boolean; sidecarRestarts?: number; agent?: "running" | { exitCode: number } | "waiting" }): V1Pod {
  const agentState = opts.agent === "running" ? { running: { startedAt: new Date(ago(30)) } } : opts.agent === "waiting" ? { waiting: { reason: "ContainerCreating" } } : opts.agent ? { terminated: { exitCode: opts.agent.exitCode, finishedAt: new Date(ago(5)) } } : undefined;
  return {
    metadata: { name: "s", annotations: { "agentbox.dev/pod-spec-hash": opts.hash ?? "h1" } },
    spec: { containers: [], nodeName: "node-1" },
    status: {
      phase: opts.phase ?? "Pending",
      conditions: opts.scheduled ? [{ type: "PodScheduled", status: opts.scheduled, ...(opts.scheduled === "False" ? { reason: "Unschedulable", message: "0/1 nodes: runtimeclass gvisor not found" } : {}) }] : [],
      initContainerStatuses: [{ name: "sidecar", image: "p", imageID: "", ready: !!opts.sidecarStarted, restartCount: opts.sidecarRestarts ?? 0, started: !!opts.sidecarStarted }],
      containerStatuses: agentState ? [{ name: "agent", image: "a", imageID: "", ready: opts.agent === "running", restartCount: 0, state: agentState }] : [],
    },
  } as V1Pod;
}

const cond = (d: Decision, type: string): string | undefined => d.status.conditions?.find((c) => c.type === type)?.reason;

interface Row {
  name: string;
  o: Observed;
  phase: string;
  check?: (d: Decision) => void;
}

const rows: Row[] = [
  { name: "no pod yet: Pending, apply", o: observed(interactive), phase: "Pending", check: (d) => { assert.equal(d.apply, true); assert.equal(cond(d, "Ready"), "PodNotCreated"); assert.equal(cond(d, "TemplateResolved"), "NoTemplate"); } },
  { name: "missing template: Pending, TemplateNotFound, nothing applied", o: observed({ templateRef: { name: "gone" } }, { template: { state: "missing", name: "gone" } }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(cond(d, "TemplateResolved"), "TemplateNotFound"); assert.match(d.status.message!, /gone not found/); assert.equal(d.event?.type, "Warning"); } },
  { name: "template violation", o: observed(interactive, { template: { state: "violation", violations: ["spec.agent.image: locked"] } }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(cond(d, "TemplateResolved"), "TemplateViolation"); } },
  { name: "credential cannot be wired: Pending, CredentialsUnavailable, nothing applied", o: observed(interactive, { credentialsProblem: "credentials a read from Vault, but ... AGENTBOX_VAULT_ADDR" }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(cond(d, "CredentialsResolved"), "CredentialsUnavailable"); assert.equal(d.event?.type, "Warning"); } },
  { name: "pod in the way", o: observed(interactive, { conflict: "pod s exists and is owned by another controller" }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(cond(d, "Ready"), "PodConflict"); } },
  { name: "unschedulable: Pending with the scheduler's message", o: observed(interactive, { pod: pod({ scheduled: "False" }) }), phase: "Pending", check: (d) => { assert.equal(cond(d, "PodScheduled"), "Unschedulable"); assert.match(d.status.message!, /runtimeclass gvisor/); } },
  { name: "scheduled, sidecar starting", o: observed(interactive, { pod: pod({ scheduled: "True" }) }), phase: "Starting", check: (d) => { assert.equal(cond(d, "CredentialsResolved"), "SidecarStarting"); assert.equal(cond(d, "PodScheduled"), "Scheduled"); } },
  { name: "sidecar crash-looping: CredentialsResolved False", o: observed(interactive, { pod: pod({ scheduled: "True", sidecarRestarts: 3 }) }), phase: "Starting", check: (d) => { assert.equal(cond(d, "CredentialsResolved"), "SidecarFailing"); assert.match(d.status.conditions!.find((c) => c.type === "CredentialsResolved")!.message, /kubectl logs/); } },
  { name: "agent running: Running, Ready, startTime", o: observed(interactive, { pod: pod({ phase: "Running", scheduled: "True", sidecarStarted: true, agent: "running" }) }), phase: "Running", check: (d) => { assert.equal(cond(d, "Ready"), "Running"); assert.equal(d.status.conditions!.find((c) => c.type === "Ready")!.status, "True"); assert.equal(d.status.startTime, ago(30)); assert.equal(d.status.podName, "s"); } },
  { name: "stale pod spec: replace the pod", o: observed(interactive, { pod: pod({ phase: "Running", scheduled: "True", sidecarStarted: true, agent: "running", hash: "old" }) }), phase: "Starting", check: (d) => { assert.equal(d.deletePod, true); assert.equal(d.apply, true); } },
  { name: "a terminating pod killed by its replacement is not a failure", o: observed(interactive, { pod: { ...pod({ phase: "Failed", scheduled: "True", sidecarStarted: true, agent: { exitCode: 137 }, hash: "old" }), metadata: { name: "s", deletionTimestamp: new Date(), annotations: { "agentbox.dev/pod-spec-hash": "old" } } } }), phase: "Starting", check: (d) => { assert.equal(d.status.exitCode, undefined); assert.equal(d.deletePod, false); } },
  { name: "Batch agent exits 3: Failed with exit code 3", o: observed(batch, { pod: pod({ phase: "Failed", scheduled: "True", sidecarStarted: true, agent: { exitCode: 3 } }) }), phase: "Failed", check: (d) => { assert.equal(d.status.exitCode, 3); assert.equal(d.status.completionTime, ago(5)); assert.equal(cond(d, "Ready"), "Finished"); assert.equal(d.event?.type, "Warning"); } },
  { name: "Batch agent exits 0 while the sidecar still runs: Succeeded", o: observed(batch, { pod: pod({ phase: "Running", scheduled: "True", sidecarStarted: true, agent: { exitCode: 0 } }) }), phase: "Succeeded", check: (d) => assert.equal(d.status.exitCode, 0) },
  { name: "evicted pod: Failed with the kubelet's reason", o: observed(interactive, { pod: { ...pod({ phase: "Failed", scheduled: "True" }), status: { ...pod({}).status, phase: "Failed", reason: "Evicted", message: "low on memory" } } }), phase: "Failed", check: (d) => assert.match(d.status.message!, /Evicted — low on memory/) },
  { name: "finished Batch before its TTL: requeue at the deadline", o: observed(batch, {}, { phase: "Failed", completionTime: ago(20), exitCode: 3 }), phase: "Failed", check: (d) => { assert.equal(d.deleteSession, false); assert.equal(d.requeueAfterMs, 40_000); assert.equal(d.status.exitCode, 3); assert.equal(d.event, undefined); } },
  { name: "finished Batch after its TTL: delete the session", o: observed(batch, {}, { phase: "Succeeded", completionTime: ago(61) }), phase: "Succeeded", check: (d) => assert.equal(d.deleteSession, true) },
  { name: "ttlSeconds elapsed: Expired, pod removed", o: observed({ ...interactive, lifecycle: { ttlSeconds: 60 } }, { pod: pod({ phase: "Running", agent: "running", sidecarStarted: true, scheduled: "True" }) }, { phase: "Running", startTime: ago(61) }), phase: "Expired", check: (d) => { assert.equal(d.deletePod, true); assert.equal(d.status.completionTime, NOW.toISOString()); assert.equal(cond(d, "Ready"), "Expired"); assert.equal(d.event?.reason, "Expired"); } },
  { name: "ttlSeconds not yet: requeue at the deadline", o: observed({ ...interactive, lifecycle: { ttlSeconds: 60 } }, { pod: pod({ phase: "Running", agent: "running", sidecarStarted: true, scheduled: "True" }) }, { phase: "Running", startTime: ago(50) }), phase: "Running", check: (d) => assert.equal(d.requeueAfterMs, 10_000) },
  { name: "idle: no activity since start", o: observed({ ...interactive, lifecycle: { idleTimeoutSeconds: 30 } }, { pod: pod({ phase: "Running", agent: "running", sidecarStarted: true, scheduled: "True" }) }, { phase: "Running", startTime: ago(31) }), phase: "Expired", check: (d) => assert.match(d.status.message!, /idleTimeoutSeconds/) },
  { name: "idle: recent activity keeps it alive", o: observed({ ...interactive, lifecycle: { idleTimeoutSeconds: 30 } }, { pod: pod({ phase: "Running", agent: "running", sidecarStarted: true, scheduled: "True" }) }, { phase: "Running", startTime: ago(300) }, { "agentbox.dev/last-activity": ago(10) }), phase: "Running", check: (d) => { assert.equal(d.requeueAfterMs, 20_000); assert.equal(d.status.lastActivityTime, ago(10)); } },
  { name: "expired stays expired and its pod goes", o: observed(interactive, { pod: pod({ phase: "Running" }) }, { phase: "Expired", message: "ttl" }), phase: "Expired", check: (d) => { assert.equal(d.deletePod, true); assert.equal(d.apply, false); } },
  { name: "sidecar says a credential is unresolved: CredentialsResolved False with its reason, a Warning event without a phase change", o: observed(interactive, { pod: pod({ scheduled: "True" }), sidecarUnresolved: [{ credential: "anthropic", reason: "PermissionDenied", message: "permission denied on kv/data/agents/anthropic" }] }, { phase: "Starting" }), phase: "Starting", check: (d) => { assert.equal(cond(d, "CredentialsResolved"), "PermissionDenied"); const c = d.status.conditions!.find((x) => x.type === "CredentialsResolved")!; assert.equal(c.status, "False"); assert.match(c.message, /credential anthropic \(PermissionDenied/); assert.match(d.status.message!, /anthropic/); assert.deepEqual([d.event?.type, d.event?.reason], ["Warning", "PermissionDenied"]); } },
  { name: "the same unresolved credential again: no second event", o: observed(interactive, { pod: pod({ scheduled: "True" }), sidecarUnresolved: [{ credential: "a", reason: "Sealed", message: "" }] }, { phase: "Starting", conditions: [{ type: "CredentialsResolved", status: "False", reason: "Sealed", message: "x", lastTransitionTime: ago(10) }] }), phase: "Starting", check: (d) => assert.equal(d.event, undefined) },
  { name: "a credential's Secret is missing: CredentialsResolved False SecretNotFound naming it, a Warning event, phase Starting", o: observed(interactive, { pod: pod({ scheduled: "True" }), secretsMissing: "credential anthropic: Secret anthropic-real key api_key is missing or not readable in namespace team-a; create it" }, { phase: "Starting" }), phase: "Starting", check: (d) => { const c = d.status.conditions!.find((x) => x.type === "CredentialsResolved")!; assert.deepEqual([c.status, c.reason], ["False", "SecretNotFound"]); assert.match(c.message, /Secret anthropic-real key api_key/); assert.match(d.status.message!, /anthropic-real/); assert.deepEqual([d.event?.type, d.event?.reason], ["Warning", "SecretNotFound"]); } },
  { name: "a missing Secret no longer counts once the sidecar started", o: observed(interactive, { pod: pod({ phase: "Running", scheduled: "True", sidecarStarted: true, agent: "running" }), secretsMissing: "Secret x not found" }), phase: "Running", check: (d) => assert.equal(cond(d, "CredentialsResolved"), "SidecarStarted") },
  { name: "sidecar started: a stale unresolved report no longer counts", o: observed(interactive, { pod: pod({ phase: "Running", scheduled: "True", sidecarStarted: true, agent: "running" }), sidecarUnresolved: [{ credential: "a", reason: "Sealed", message: "" }] }), phase: "Running", check: (d) => assert.equal(cond(d, "CredentialsResolved"), "SidecarStarted") },
  { name: "upstream-CA ConfigMap missing: Ready False naming it", o: observed(interactive, { pod: pod({ scheduled: "True" }), upstreamCaMissing: "ConfigMap upstream-ca (key ca.crt) not found in namespace ns" }), phase: "Starting", check: (d) => { assert.equal(cond(d, "Ready"), "UpstreamCANotFound"); assert.match(d.status.message!, /ConfigMap upstream-ca/); } },
  // Issue 14 (ADR 0004): a rule refuses the session: no pod, a documented reason; a running pod goes.
  { name: "a Secret's allowed-hosts refuses a credential: CredentialsResolved False CredentialNotAllowed, no pod", o: observed(interactive, { refusal: { reason: "CredentialNotAllowed", message: "credential a: Secret s may be sent only to x.example (its annotation agentbox.dev/allowed-hosts), not to evil.example" } }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(d.deletePod, false); const c = d.status.conditions!.find((x) => x.type === "CredentialsResolved")!; assert.deepEqual([c.status, c.reason, c.observedGeneration], ["False", "CredentialNotAllowed", 1]); assert.match(c.message, /credential a: .*not to evil\.example/); assert.equal(cond(d, "Ready"), "PodNotCreated"); assert.deepEqual([d.event?.type, d.event?.reason], ["Warning", "Pending"]); } },
  { name: "a rule narrowed under a running pod: the pod is removed", o: observed(interactive, { pod: pod({ phase: "Running", scheduled: "True", sidecarStarted: true, agent: "running" }), refusal: { reason: "CredentialNotAllowed", message: "credential a: ..." } }, { phase: "Running" }), phase: "Pending", check: (d) => { assert.equal(d.deletePod, true); assert.equal(d.apply, false); } },
  { name: "requireTemplate: CredentialsResolved False TemplateRequired, no pod", o: observed(interactive, { refusal: { reason: "TemplateRequired", message: "spec.credentials a: this platform requires every credential to come from an AgentTemplate" } }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(cond(d, "CredentialsResolved"), "TemplateRequired"); assert.equal(cond(d, "Ready"), "PodNotCreated"); } },
  { name: "allowPrivate beyond the bound: Ready False EgressNotAllowed, no pod", o: observed(interactive, { refusal: { reason: "EgressNotAllowed", message: "egress.allowPrivate 169.254.169.254/32 is outside the private ranges this platform lets sessions open (none; ...)" } }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); const c = d.status.conditions!.find((x) => x.type === "Ready")!; assert.deepEqual([c.status, c.reason], ["False", "EgressNotAllowed"]); assert.match(d.status.message!, /169\.254\.169\.254/); assert.equal(cond(d, "CredentialsResolved"), undefined); } },
  { name: "a credential Secret missing before the pod: SecretNotFound, no pod, looked at again soon", o: observed(interactive, { refusal: { reason: "SecretNotFound", message: "credential a: Secret s key k is missing or not readable in namespace team-a" } }), phase: "Pending", check: (d) => { assert.equal(d.apply, false); assert.equal(cond(d, "CredentialsResolved"), "SecretNotFound"); assert.equal(d.requeueAfterMs, 5_000); } },
  { name: "mode defaults to Interactive in status", o: observed(interactive), phase: "Pending", check: (d) => assert.equal(d.status.mode, "Interactive") },
  { name: "mode Batch in status", o: observed(batch), phase: "Pending", check: (d) => assert.equal(d.status.mode, "Batch") },
  { name: "being deleted: Terminating", o: observed(interactive, {}, undefined, undefined), phase: "Pending" },
];
rows[rows.length - 1]!.o.session.metadata.deletionTimestamp = NOW.toISOString();
rows[rows.length - 1]!.phase = "Terminating";

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const d = decide(row.o);
    assert.equal(d.status.phase, row.phase);
    assert.equal(d.status.observedGeneration, 1);
    for (const c of d.status.conditions ?? []) assert.equal(c.observedGeneration, 1);
    row.check?.(d);
  });
}

test("decide is idempotent: feeding its status back changes nothing and emits no event", () => {
  for (const row of rows) {
    const first = decide(row.o);
    const again = decide({ ...row.o, session: { ...row.o.session, status: first.status }, now: new Date(NOW.getTime() + 1000) });
    if (first.status.phase === "Expired" || row.name.startsWith("ttlSeconds not")) continue; // deadlines move with time
    assert.deepEqual(again.status, first.status, row.name);
    assert.equal(again.event, undefined, row.name);
  }
});
