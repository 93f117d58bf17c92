// Writes JSON schemas in kubeconform's layout (<kind>-<group>-<version>.json) from the
// Kubernetes OpenAPI v2 document and from CRD YAML, because no schema can be downloaded here.
// Each schema is standalone (refs inlined) and strict (objects with known properties refuse
// unknown ones), as kubeconform's own "-standalone-strict" schemas are.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

type Schema = Record<string, unknown>;
type Gvk = { group: string; version: string; kind: string };

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/** kubeconform's file name for a kind: lower-case kind, first label of the group, version. */
export function schemaFileName({ group, version, kind }: Gvk): string {
  const groupPart = group === "" ? "" : `-${group.split(".")[0]!.toLowerCase()}`;
  return `${kind.toLowerCase()}${groupPart}-${version.toLowerCase()}.json`;
}

/** Where the k8s.io/kubernetes module's OpenAPI document is, for the version test/cluster builds. */
export function findOpenApi(repoRoot: string): string | undefined {
  const fromEnv = process.env.AGENTBOX_K8S_OPENAPI;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const goMod = readFileSync(join(repoRoot, "test/cluster/k8s/go.mod"), "utf8");
  const version = /k8s\.io\/kubernetes (v[0-9.]+)/.exec(goMod)?.[1];
  if (version === undefined) return undefined;
  const modCache = process.env.GOMODCACHE ?? join(process.env.GOPATH ?? join(homedir(), "go"), "pkg/mod");
  const path = join(modCache, `k8s.io/kubernetes@${version}/api/openapi-spec/swagger.json`);
  return existsSync(path) ? path : undefined;
}

function strictify(node: unknown, resolve: (ref: string, seen: Set<string>) => Schema, seen: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => strictify(n, resolve, seen));
  if (node === null || typeof node !== "object") return node;
  const obj = node as Schema;
  if (typeof obj.$ref === "string") return resolve(obj.$ref, seen);
  if (obj["x-kubernetes-int-or-string"] === true) return { anyOf: [{ type: "string" }, { type: "integer" }], ...(obj.description ? { description: obj.description } : {}) };
  const out: Schema = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === "format" || key.startsWith("x-kubernetes-")) continue;
    out[key] = key === "properties" || key === "patternProperties"
      ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, strictify(v, resolve, seen)]))
      : strictify(value, resolve, seen);
  }
  if (out.properties !== undefined && out.additionalProperties === undefined && obj["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false;
  return out;
}

/** Standalone strict schemas for the given kinds from an OpenAPI v2 document. */
export function schemasFromOpenApi(doc: { definitions: Record<string, Schema> }, wanted: Gvk[]): Map<string, Schema> {
  const defs = doc.definitions;
  const resolve = (ref: string, seen: Set<string>): Schema => {
    const name = ref.replace("#/definitions/", "");
    if (name === INT_OR_STRING) return { anyOf: [{ type: "string" }, { type: "integer" }] };
    if (name === QUANTITY) return { anyOf: [{ type: "string" }, { type: "number" }] };
    // Recursive types (JSONSchemaProps) are cut off: anything is accepted below that point.
    if (seen.has(name)) return {};
    const def = defs[name];
    if (def === undefined) throw new Error(`the OpenAPI document has no definition ${name}`);
    return strictify(def, resolve, new Set([...seen, name])) as Schema;
  };
  const out = new Map<string, Schema>();
  for (const [name, def] of Object.entries(defs)) {
    const gvks = (def["x-kubernetes-group-version-kind"] as Gvk[] | undefined) ?? [];
    for (const gvk of gvks) {
      if (wanted.some((w) => w.group === gvk.group && w.version === gvk.version && w.kind === gvk.kind)) {
        out.set(schemaFileName(gvk), resolve(`#/definitions/${name}`, new Set()));
      }
    }
  }
  return out;
}

/** Strict schemas for the custom resources a CRD YAML file defines, one per served version. */
export function schemasFromCrd(crdYaml: string): Map<string, Schema> {
  const out = new Map<string, Schema>();
  for (const doc of parseAllDocuments(crdYaml)) {
    const crd = doc.toJS() as { spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
    for (const v of crd.spec.versions) {
      const schema = strictify(v.schema.openAPIV3Schema, () => ({}), new Set()) as Schema;
      const props = (schema.properties ?? {}) as Schema;
      // The API server validates metadata itself; the CRD schema leaves it open.
      schema.properties = { ...props, apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" } };
      out.set(schemaFileName({ group: crd.spec.group, version: v.name, kind: crd.spec.names.kind }), schema);
    }
  }
  return out;
}

export async function writeSchemas(dir: string, schemas: Map<string, Schema>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [file, schema] of schemas) await writeFile(join(dir, file), JSON.stringify(schema));
}
