// Every input the REST API accepts, as zod: the same schemas validate requests and feed the
// OpenAPI document.
import { z } from "zod";
import { AgentSessionSpec } from "../../crds/agentsession.js";
import { DNS_LABEL } from "../../crds/patterns.js";

export const Name = z
  .string()
  .min(1)
  .max(63)
  .regex(new RegExp(DNS_LABEL), { message: "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters" });

export const NamespaceParams = z.strictObject({ namespace: Name });
export const SessionParams = z.strictObject({ namespace: Name, name: Name });
export const NoQuery = z.strictObject({});

export const LogsQuery = z.strictObject({
  tailLines: z.coerce.number().int().min(1).max(10_000).optional().describe("tailLines: only the last N lines (1-10000). Optional; default all."),
  container: z.enum(["agent", "sidecar"]).default("agent").describe("container: agent (default) or sidecar."),
});

export const CreateSessionBody = z
  .strictObject({
    name: Name.optional().describe("name: the session's name. Optional; generated when absent."),
    generateName: z
      .string()
      .min(1)
      .max(57)
      .regex(/^[a-z0-9][-a-z0-9]*$/, { message: "must be lower-case letters, digits and '-', starting with a letter or digit" })
      .optional()
      .describe("generateName: prefix for a generated name when name is absent. Optional; default session-."),
    template: Name.optional().describe("template: an AgentTemplate in the namespace to start from; spec then holds overrides. Optional."),
    spec: z.unknown().optional().describe("spec: an AgentSession spec: the full spec, or overrides on top of template."),
  })
  .refine((b) => b.template !== undefined || b.spec !== undefined, { message: "give a template, a spec, or both" })
  .refine((b) => b.name === undefined || b.generateName === undefined, { message: "give name or generateName, not both" });
export type CreateSessionBody = z.output<typeof CreateSessionBody>;

export { AgentSessionSpec };
