import { z } from "zod";

/** An OpenAPI v3 schema node as the API server's CRD validation understands it. */
export interface JSONSchemaProps {
  type?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  required?: string[];
  [key: string]: unknown;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// Keys zod emits that a CRD schema either rejects or does not need.
const DROPPED_KEYS = new Set(["$schema", "propertyNames", "id"]);

/**
 * Converts a zod schema to a structural OpenAPI v3 schema for a CRD. zod's own JSON Schema
 * output is close, but a CRD forbids `additionalProperties: false`, $ref and unions beside a
 * type, and zod writes the safe-integer range on every `z.int()`; this walk removes those and
 * refuses constructs the API server would reject, so gen fails instead of the kubectl apply.
 */
export function toStructural(schema: z.ZodType): JSONSchemaProps {
  const raw = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw", reused: "inline" });
  return clean(raw as Record<string, unknown>, "");
}

function clean(node: Record<string, unknown>, path: string): JSONSchemaProps {
  for (const forbidden of ["$ref", "anyOf", "oneOf", "allOf", "not", "const"]) {
    if (forbidden in node) throw new Error(`CRD schema at ${path || "<root>"} uses ${forbidden}, which a structural schema cannot express; model it as optional fields plus a CEL rule`);
  }
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === "additionalProperties" && value === false) continue;
    if ((key === "maximum" && value === MAX_SAFE) || (key === "minimum" && value === -MAX_SAFE)) continue;
    if (key === "properties") {
      const props: Record<string, JSONSchemaProps> = {};
      for (const [name, child] of Object.entries(value as Record<string, Record<string, unknown>>)) props[name] = clean(child, `${path}.${name}`);
      out.properties = props;
    } else if (key === "items" || (key === "additionalProperties" && typeof value === "object")) {
      out[key] = clean(value as Record<string, unknown>, `${path}[]`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * Lists the ways a schema breaks the CRD structural-schema rules or agentbox's own rule that
 * every field is described. An empty list means the schema is acceptable.
 */
export function structuralProblems(node: JSONSchemaProps, path = ""): string[] {
  const at = path || "<root>";
  const problems: string[] = [];
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (!node.type && !intOrString && !preserve) problems.push(`${at}: no type`);
  for (const key of ["$ref", "anyOf", "oneOf", "allOf", "not", "$schema", "definitions", "$defs"]) {
    if (key in node) problems.push(`${at}: uses ${key}`);
  }
  if (node.uniqueItems === true) problems.push(`${at}: uniqueItems true is not allowed`);
  if (node.properties && node.additionalProperties !== undefined) problems.push(`${at}: properties and additionalProperties together`);
  if (node.additionalProperties === false) problems.push(`${at}: additionalProperties false`);
  if (node.type === "array" && !node.items) problems.push(`${at}: array without items`);
  for (const name of node.required ?? []) {
    if (!node.properties?.[name]) problems.push(`${at}: required ${name} is not a property`);
  }
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (path === "" && name === "metadata") {
      if (Object.keys(child).some((k) => k !== "type")) problems.push(".metadata: only type may be set");
      continue;
    }
    if (!child.description) problems.push(`${path}.${name}: no description`);
    else if (!child.description.startsWith(`${name}:`)) problems.push(`${path}.${name}: description does not start with "${name}:"`);
    problems.push(...structuralProblems(child, `${path}.${name}`));
  }
  if (node.items) problems.push(...structuralProblems(node.items, `${path}[]`));
  if (typeof node.additionalProperties === "object") problems.push(...structuralProblems(node.additionalProperties, `${path}{}`));
  return problems;
}
