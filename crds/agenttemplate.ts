import { z } from "zod";
import { API_VERSION, ObjectMeta } from "./agentsession.js";
import { agent, Credentials, Egress, Isolation, Lifecycle, Workspace } from "./spec.js";

/** Parts of a template a session can be forbidden to change; see mergeTemplate. */
export const LOCKABLE = ["agent.image", "agent.command", "credentials", "egress", "lifecycle", "isolation", "workspace"] as const;
export type Lockable = (typeof LOCKABLE)[number];

export const AgentTemplateSpec = z
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
  })
  .describe("spec: values sessions naming this template start from. Required.");

export const AgentTemplate = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("AgentTemplate"),
  metadata: ObjectMeta,
  spec: AgentTemplateSpec,
});

export type AgentTemplateSpec = z.output<typeof AgentTemplateSpec>;
export type AgentTemplate = z.output<typeof AgentTemplate>;
