import type { z } from "zod";

/**
 * A validation rule that spans fields. It is written twice on purpose, once as CEL for the API
 * server (x-kubernetes-validations) and once as a TypeScript predicate for zod, and the unit
 * tests run the same malformed cases through both paths so the two cannot drift apart silently.
 */
export interface CrossFieldRule<T> {
  /** CEL expression evaluated by the API server with `self` bound to the object. */
  readonly rule: string;
  /** Message shown by both the API server and zod; names the field a person must fix. */
  readonly message: string;
  /** JSONPath (relative to `self`) the API server reports the error against. */
  readonly fieldPath?: string;
  /** Whether the rule compares against the previous object (a transition rule); zod skips it. */
  readonly transition?: boolean;
  /** The same rule as a predicate; omitted only for transition rules, which need the old object. */
  readonly check?: (value: T) => boolean;
}

export interface KubernetesValidation {
  rule: string;
  message: string;
  fieldPath?: string;
}

/** Attaches rules to a schema: as zod refinements and as x-kubernetes-validations metadata. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[]): S {
  const description = schema.description;
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (r.check && !r.check(value)) {
        const path = r.fieldPath ? r.fieldPath.replace(/^\./, "").split(".") : [];
        ctx.addIssue({ code: "custom", message: r.message, path });
      }
    }
  });
  const validations: KubernetesValidation[] = rules.map((r) => ({
    rule: r.rule,
    message: r.message,
    ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
  }));
  return refined.meta({ ...(description ? { description } : {}), "x-kubernetes-validations": validations }) as S;
}
