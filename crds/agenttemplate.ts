import { z } from "zod";
import { API_VERSION, ObjectMeta } from "./agentsession.js";
import { withRules } from "./rules.js";
import { agent, Credentials, Egress, Isolation, Lifecycle, Workspace } from "./spec.js";

/** Parts of a template a session can be forbidden to change; see mergeTemplate. */
export const LOCKABLE = ["agent.image", "agent.command", "credentials", "egress", "lifecycle", "isolation", "workspace"] as const;
export type Lockable = (typeof LOCKABLE)[number];

export const MAX_WARM_POOL = 50;

export const WarmPool = z
  .object({
    size: z
      .int()
      .min(0)
      .max(MAX_WARM_POOL)
      .default(0)
      .describe(`size: how many pods the operator keeps started and waiting for sessions that name this template, 0 to ${MAX_WARM_POOL}. A new session adopts one when its effective spec builds the same pod as the template alone (see docs/api.md, warm pools); otherwise it gets a pod of its own. Default 0 (no pool).`),
  })
  .describe("warmPool: pods kept running ahead of demand so a session starts in about a second instead of waiting for a pod. Not for templates with workspace.storage (a claim belongs to one session) or lifecycle.mode Batch (a warm Batch agent would run its task before any session asked). Optional; default no pool.");

const TemplateSpecFields = z
  .object({
    agent: agent.optional(),
    credentials: Credentials.optional(),
    egress: Egress.optional(),
    workspace: Workspace.optional(),
    lifecycle: Lifecycle.optional(),
    isolation: Isolation.optional(),
    locked: z
      .array(z.enum(LOCKABLE))
      .max(LOCKABLE.length)
      .default([])
      .meta({ "x-kubernetes-list-type": "set" })
      .describe("locked: parts of this template a session may not change: agent.image, agent.command (with args), credentials, egress, lifecycle, isolation, workspace. A session that tries is refused with a TemplateViolation condition. Default []."),
    warmPool: WarmPool.optional(),
  })
  .describe("spec: values sessions naming this template start from. Required.");

export const AgentTemplateSpec = withRules(TemplateSpecFields, [
  {
    rule: "!has(self.warmPool) || !has(self.warmPool.size) || self.warmPool.size == 0 || !has(self.workspace) || !has(self.workspace.storage)",
    message: "spec.warmPool.size must be 0 when spec.workspace.storage is set: a workspace claim belongs to one session, so its pod cannot be started ahead of the session",
    fieldPath: ".warmPool.size",
    check: (t) => (t.warmPool?.size ?? 0) === 0 || t.workspace?.storage === undefined,
  },
  {
    rule: "!has(self.warmPool) || !has(self.warmPool.size) || self.warmPool.size == 0 || !has(self.lifecycle) || !has(self.lifecycle.mode) || self.lifecycle.mode != 'Batch'",
    message: "spec.warmPool.size must be 0 when spec.lifecycle.mode is Batch: a warm Batch agent would run its task before any session asked for it",
    fieldPath: ".warmPool.size",
    check: (t) => (t.warmPool?.size ?? 0) === 0 || t.lifecycle?.mode !== "Batch",
  },
]);

export const AgentTemplate = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("AgentTemplate"),
  metadata: ObjectMeta,
  spec: AgentTemplateSpec,
});

export type AgentTemplateSpec = z.output<typeof AgentTemplateSpec>;
export type AgentTemplate = z.output<typeof AgentTemplate>;
