import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { customResourceDefinitions } from "../../../crds/crd.js";
import { renderCrds } from "../../../crds/gen.js";
import { structuralProblems, toStructural, type JSONSchemaProps } from "../../../crds/structural.js";

const schemaOf = (kind: string): JSONSchemaProps => {
  const crd = customResourceDefinitions().find((c) => (c.spec.names as { kind: string }).kind === kind)!;
  const versions = crd.spec.versions as { schema: { openAPIV3Schema: JSONSchemaProps } }[];
  return versions[0]!.schema.openAPIV3Schema;
};

test("both CRD schemas are structural and every field is described", () => {
  for (const kind of ["AgentSession", "AgentTemplate"]) {
    assert.deepEqual(structuralProblems(schemaOf(kind)), [], kind);
  }
});

test("the structural check catches what the API server would refuse", () => {
  const bad: JSONSchemaProps = {
    type: "object",
    properties: {
      a: { description: "a: no type" },
      b: { type: "array", description: "b: no items" },
      c: { type: "object", description: "wrong start", anyOf: [{ type: "string" }] },
    },
    required: ["d"],
  };
  const problems = structuralProblems(bad);
  for (const expected of [".a: no type", ".b: array without items", '.c: description does not start with "c:"', ".c: uses anyOf", "<root>: required d is not a property"]) {
    assert.ok(problems.includes(expected), `missing ${expected} in ${problems.join(", ")}`);
  }
});

test("the converter refuses unions instead of writing a non-structural schema", () => {
  assert.throws(() => toStructural(z.object({ x: z.union([z.string(), z.number()]).describe("x: either") })), /anyOf.*CEL/);
});

test("the converter drops additionalProperties:false and the safe-integer bounds of z.int()", () => {
  const s = toStructural(z.strictObject({ n: z.int().min(0).describe("n: count") }));
  assert.equal(s.additionalProperties, undefined);
  assert.deepEqual(s.properties?.n, { type: "integer", minimum: 0, description: "n: count" });
});

test("cross-field rules, list keys, enums and defaults reach the CRD", () => {
  const spec = schemaOf("AgentSession").properties!.spec!;
  const rules = (spec["x-kubernetes-validations"] as { rule: string; message: string }[]).map((r) => r.message);
  assert.ok(rules.some((m) => m.includes("credentials[].env must not collide")));
  assert.ok(rules.some((m) => m.includes("immutable")));
  const lifecycle = spec.properties!.lifecycle!;
  assert.deepEqual(lifecycle.properties!.mode!.enum, ["Interactive", "Batch"]);
  assert.equal((lifecycle["x-kubernetes-validations"] as unknown[]).length, 2);
  const creds = spec.properties!.credentials!;
  assert.equal(creds["x-kubernetes-list-type"], "map");
  assert.deepEqual(creds.items!.properties!.inject!.default, {});
  assert.deepEqual(creds.items!.properties!.inject!.properties!.headers!.default, ["authorization"]);
  assert.ok(creds.items!.properties!.source!["x-kubernetes-validations"]);
});

test("printer columns, short names and the status subresource", () => {
  const [session, template] = customResourceDefinitions();
  const v = (session!.spec.versions as Record<string, unknown>[])[0]!;
  assert.deepEqual((v.additionalPrinterColumns as { name: string }[]).filter((c) => !("priority" in c)).map((c) => c.name), ["Phase", "Mode", "Pod", "Age"]);
  assert.deepEqual(v.subresources, { status: {} });
  assert.deepEqual((session!.spec.names as { shortNames: string[] }).shortNames, ["as"]);
  assert.deepEqual((template!.spec.names as { shortNames: string[] }).shortNames, ["ast"]);
  assert.equal(session!.spec.scope, "Namespaced");
});

test("the checked-in CRD YAML is what gen writes (run `npm run gen`)", () => {
  for (const [name, text] of renderCrds()) {
    assert.equal(readFileSync(name, "utf8"), text, `${name} is stale`);
  }
});
