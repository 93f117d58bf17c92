import type { z } from "zod";
import { ApiError, type ErrorDetail } from "./errors.js";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Paths present in the input that the schema dropped. The API types strip unknown keys (they
 * mirror a CRD); a request must not, so a misspelt field is an error instead of being ignored.
 */
export function unknownFields(input: unknown, output: unknown, path = ""): string[] {
  if (Array.isArray(input) && Array.isArray(output)) {
    return input.flatMap((item, i) => unknownFields(item, output[i], `${path}[${i}]`));
  }
  if (!isPlainObject(input) || !isPlainObject(output)) return [];
  return Object.keys(input).flatMap((key) => {
    const child = path ? `${path}.${key}` : key;
    return key in output ? unknownFields(input[key], output[key], child) : [child];
  });
}

/** Validates `value` or throws a 400 naming every problem; `where` is e.g. "body" or "query". */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const details: ErrorDetail[] = result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join("."),
      message: issue.message,
    }));
    throw new ApiError("BadRequest", `invalid ${where}: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`, details);
  }
  const extra = unknownFields(value, result.data);
  if (extra.length > 0) {
    const details = extra.map((path) => ({ path: `${where}.${path}`, message: "unknown field" }));
    throw new ApiError("BadRequest", `invalid ${where}: unknown field(s) ${details.map((d) => d.path).join(", ")}`, details);
  }
  return result.data;
}
