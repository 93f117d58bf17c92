// What the CLI reads from the session API's answers, validated with zod. Only the fields the
// CLI shows are required to have a type; everything else passes through, so a newer server
// with more fields still works with this CLI.
import { z } from "zod";

const Condition = z
  .object({
    type: z.string(),
    status: z.string(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .loose();

export const SessionView = z
  .object({
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        creationTimestamp: z.string().optional(),
        deletionTimestamp: z.string().optional(),
      })
      .loose(),
    spec: z
      .object({
        templateRef: z.object({ name: z.string() }).loose().optional(),
        agent: z.object({ image: z.string().optional() }).loose().optional(),
        lifecycle: z.object({ mode: z.string().optional() }).loose().optional(),
      })
      .loose()
      .default({}),
    status: z
      .object({
        phase: z.string().optional(),
        podName: z.string().optional(),
        exitCode: z.number().int().optional(),
        message: z.string().optional(),
        startTime: z.string().optional(),
        completionTime: z.string().optional(),
        conditions: z.array(Condition).optional(),
      })
      .loose()
      .default({}),
  })
  .loose();
export type SessionView = z.output<typeof SessionView>;

export const SessionList = z.object({ items: z.array(SessionView) }).loose();

export const TemplateView = z
  .object({
    metadata: z.object({ name: z.string() }).loose(),
    spec: z
      .object({
        agent: z.object({ image: z.string().optional() }).loose().optional(),
        lifecycle: z.object({ mode: z.string().optional() }).loose().optional(),
        credentials: z.array(z.object({ name: z.string() }).loose()).optional(),
        locked: z.array(z.string()).optional(),
      })
      .loose()
      .default({}),
  })
  .loose();
export type TemplateView = z.output<typeof TemplateView>;

export const TemplateList = z.object({ items: z.array(TemplateView) }).loose();

/** The session API's error shape, `{error: {message}}`; older or proxy-made errors may carry only `message`. */
const NestedError = z.object({ error: z.object({ message: z.string() }).loose() }).loose();
const FlatError = z.object({ message: z.string() }).loose();

export function errorMessage(body: unknown): string | undefined {
  const nested = NestedError.safeParse(body);
  if (nested.success) return nested.data.error.message;
  const flat = FlatError.safeParse(body);
  return flat.success ? flat.data.message : undefined;
}
