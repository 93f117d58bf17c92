import { z } from "zod";
import { withRules } from "./rules.js";
import { agent, Credentials, Egress, Isolation, Lifecycle, Workspace } from "./spec.js";

export const GROUP = "agentbox.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const TemplateRef = z
  .object({
    name: z.string().min(1).max(253).describe("name: the AgentTemplate's name, in the session's namespace. Required."),
  })
  .describe("templateRef: an AgentTemplate whose values this session starts from; see docs/api.md for what a session may override and what a template locks. Optional.");

export const Access = z
  .object({
    users: z.array(z.string().min(1).max(256)).max(64).default([]).describe("users: user names (as authenticated by the session API) who may attach read-write, on top of RBAC. Like the rest of spec, only the session's creator (annotation agentbox.dev/created-by) or a platform admin may change it. Default []."),
    viewers: z.array(z.string().min(1).max(256)).max(64).default([]).describe("viewers: user names who may attach read-only; their input is dropped. Default []."),
  })
  .describe("access: who may attach to the session's terminal, on top of Kubernetes RBAC. Optional; default RBAC alone.");

const SessionSpecFields = z
  .object({
    templateRef: TemplateRef.optional(),
    agent: agent.optional(),
    credentials: Credentials.optional(),
    egress: Egress.optional(),
    workspace: Workspace.optional(),
    lifecycle: Lifecycle.optional(),
    access: Access.optional(),
    isolation: Isolation.optional(),
  })
  .describe("spec: the desired session. Required.");

export const AgentSessionSpec = withRules(SessionSpecFields, [
  {
    rule: "has(self.templateRef) || (has(self.agent) && has(self.agent.image))",
    message: "spec.agent.image is required when spec.templateRef is not set",
    fieldPath: ".agent",
    check: (s) => s.templateRef !== undefined || s.agent?.image !== undefined,
  },
  {
    rule: "!has(self.credentials) || !has(self.agent) || !has(self.agent.env) || self.credentials.all(c, !self.agent.env.exists(e, e.name == c.env))",
    message: "spec.credentials[].env must not collide with a spec.agent.env name: the agent would see the value instead of the stub",
    fieldPath: ".credentials",
    check: (s) => (s.credentials ?? []).every((c) => !(s.agent?.env ?? []).some((e) => e.name === c.env)),
  },
  {
    rule: "(has(self.lifecycle) && has(self.lifecycle.mode) ? self.lifecycle.mode : '') == (has(oldSelf.lifecycle) && has(oldSelf.lifecycle.mode) ? oldSelf.lifecycle.mode : '')",
    message: "spec.lifecycle.mode is immutable; create a new session instead",
    fieldPath: ".lifecycle.mode",
    transition: true,
  },
]);

export const PHASES = ["Pending", "Starting", "Running", "Succeeded", "Failed", "Expired", "Terminating"] as const;
export type Phase = (typeof PHASES)[number];

export const Condition = z
  .object({
    type: z.string().min(1).max(316).describe("type: the condition's type, e.g. Ready. Required."),
    status: z.enum(["True", "False", "Unknown"]).describe("status: True, False or Unknown. Required."),
    reason: z.string().min(1).max(1024).describe("reason: a CamelCase word saying why, documented in docs/api.md. Required."),
    message: z.string().max(32768).default("").describe("message: what happened and what a person can do about it. Default \"\"."),
    lastTransitionTime: z.string().describe("lastTransitionTime: when status last changed (RFC 3339). Required.").meta({ format: "date-time" }),
    observedGeneration: z.int().min(0).optional().describe("observedGeneration: the spec generation this condition was computed from. Optional."),
  })
  .describe("A standard Kubernetes condition.");
export type Condition = z.output<typeof Condition>;

const time = (d: string): z.ZodOptional<z.ZodString> => z.string().meta({ format: "date-time" }).describe(d).optional() as z.ZodOptional<z.ZodString>;

export const AgentSessionStatus = z
  .object({
    phase: z.enum(PHASES).optional().describe("phase: where the session is in its life: Pending, Starting, Running, Succeeded, Failed, Expired or Terminating. Set by the operator."),
    conditions: z
      .array(Condition)
      .max(32)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
      .describe("conditions: Ready, PodScheduled, CredentialsResolved and TemplateResolved, with reasons documented in docs/api.md."),
    observedGeneration: z.int().min(0).optional().describe("observedGeneration: the spec generation the status reflects."),
    mode: z.enum(["Interactive", "Batch"]).optional().describe("mode: the session's effective lifecycle mode, after its template and the default (Interactive) are applied."),
    podName: z.string().max(253).optional().describe("podName: the session's pod."),
    startTime: time("startTime: when the agent container started running (RFC 3339)."),
    completionTime: time("completionTime: when the session finished or expired (RFC 3339)."),
    exitCode: z.int().optional().describe("exitCode: the agent container's exit code, once it terminated (Batch)."),
    lastActivityTime: time("lastActivityTime: the last terminal activity the operator saw (RFC 3339)."),
    message: z.string().max(32768).optional().describe("message: a one-line summary of the current state for people."),
  })
  .describe("status: the observed state, written by the operator through the /status subresource.");
export type AgentSessionStatus = z.output<typeof AgentSessionStatus>;

export const ObjectMeta = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.union([z.string(), z.date()]).optional(),
    deletionTimestamp: z.union([z.string(), z.date()]).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

export const AgentSession = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("AgentSession"),
  metadata: ObjectMeta,
  spec: AgentSessionSpec,
  status: AgentSessionStatus.optional(),
});

export type AgentSessionSpec = z.output<typeof AgentSessionSpec>;
export type AgentSession = z.output<typeof AgentSession>;
