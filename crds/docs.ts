import { REASONS } from "./conditions.js";
import { customResourceDefinitions } from "./crd.js";
import type { JSONSchemaProps } from "./structural.js";

// docs/api.md, generated with the CRDs so the reference cannot drift from the schema.

const MERGE_RULES = `## Templates: what a session may override, what a template locks

A session that names \`spec.templateRef\` runs with the template's values merged with its own
(\`mergeTemplate\` in \`crds/merge.ts\`, table-tested in \`test/unit/crds/merge.test.ts\`):

| part | rule |
|---|---|
| \`agent.image\`, \`agent.command\`, \`agent.args\`, \`agent.workingDir\`, \`agent.resources\`, \`agent.tty\`, \`agent.runAsUser\` | the session's value wins where it sets one, else the template's |
| \`agent.env\` | merged by name; the session's entry wins |
| \`credentials\` | merged by name; the session's entry wins |
| \`egress.allow\`, \`egress.allowPrivate\` | the union of both lists |
| \`lifecycle.*\`, \`isolation.*\`, \`workspace.*\` | field by field: the session's value wins where it sets one |
| \`access\` | the session's alone |

A template's \`spec.locked\` lists parts sessions may not change: \`agent.image\`, \`agent.command\`
(command and args), \`credentials\`, \`egress\`, \`lifecycle\`, \`isolation\`, \`workspace\`. In a
locked part, a session may repeat the template's value but not set another one, add a
credential, add an egress host or range, or set a field the template left unset. Such a session
gets no pod: its \`TemplateResolved\` condition is \`False\` with reason \`TemplateViolation\` and a
message naming each field. After merging, the rules that span fields are checked again
(credential env names unique and distinct from \`agent.env\`; \`ttlSecondsAfterFinished\` only for
Batch; \`idleTimeoutSeconds\` only for Interactive), since a template and a session can each be
valid and their merge not.

### Warm pools: which sessions start from a warm pod

A template with \`spec.warmPool.size\` N > 0 has the operator keep N pods started ahead of
demand in its namespace: each is the pod a session naming the template and overriding nothing
would get, with its own stub Secret, sidecar configuration and NetworkPolicy. Warm pods are owned
by the template (deleting it deletes them), labelled \`agentbox.dev/warm-pool: <template>\` and
\`agentbox.dev/pod-spec-hash: <hash>\`, where the hash covers everything that shapes the pod
(pod spec, sidecar configuration, NetworkPolicy, the operator's platform image) apart from object
names and the stubs' random bodies (\`poolHash\` in \`operator/warm-pool.ts\`).

A new session is **eligible** for a warm pod when it names the template and its effective spec
(after the merge above) gives the same hash. So it stays eligible when it only sets
\`lifecycle.ttlSeconds\`, \`lifecycle.idleTimeoutSeconds\` (both count from the session's own
creation, not from the warm pod's start), \`access\`, or repeats the template's values; it gets a
pod of its own (cold) when it changes anything that reaches the pod: agent image, command, args,
env, tty, resources, runAsUser, workingDir, credentials, egress, isolation, workspace, or mode.

An eligible session takes a warm pod with a patch conditional on the pod's resourceVersion,
which moves the pod (and then the objects it mounts) from the template to the session: two
sessions never share a pod, a taken pod never returns to the pool, and a session that loses every
race gets a cold pod. The session's \`status.podName\` names the warm pod (\`<template>-warm-<random>\`),
an event with reason \`WarmPodAdopted\` says which one, and the pool refills. Editing the template
in a way that changes the hash replaces the warm pods; lowering the size deletes the extras.

A template with \`workspace.storage\` (a claim belongs to one session) or \`lifecycle.mode: Batch\`
(a warm Batch agent would run its task before any session asked) may not have a warm pool: the
API server refuses \`warmPool.size\` > 0 there. Metrics: \`agentbox_warm_pods_ready\` (all
templates) and \`agentbox_warm_pool_adoptions_total{result="adopted"|"cold"}\` for sessions naming
a template that keeps a pool.
`;

function fieldRows(node: JSONSchemaProps, path: string, required: boolean, out: string[]): void {
  const type = node.type === "array" ? `[]${node.items?.type ?? ""}` : node.type === "object" && node.additionalProperties ? "map[string]string" : (node.type ?? "");
  const extra: string[] = [];
  if (node.enum) extra.push(`one of ${(node.enum as unknown[]).map((v) => `\`${String(v)}\``).join(", ")}`);
  if (node.default !== undefined) extra.push(`default \`${JSON.stringify(node.default)}\``);
  if (node.pattern) extra.push(`pattern \`${String(node.pattern).replace(/\|/g, "\\|")}\``);
  for (const v of (node["x-kubernetes-validations"] as { message: string }[] | undefined) ?? []) extra.push(`rule: ${v.message}`);
  const desc = (node.description ?? "").replace(/\|/g, "\\|");
  if (path) out.push(`| \`${path}\` | ${type} | ${required ? "yes" : ""} | ${desc}${extra.length ? `<br>${extra.join("; ")}` : ""} |`);
  for (const [name, child] of Object.entries(node.properties ?? {})) fieldRows(child, path ? `${path}.${name}` : name, (node.required ?? []).includes(name), out);
  if (node.items?.properties) for (const [name, child] of Object.entries(node.items.properties)) fieldRows(child, `${path}[].${name}`, (node.items.required ?? []).includes(name), out);
}

export function renderApiDoc(): string {
  const parts = [
    "# agentbox API reference (agentbox.dev/v1alpha1)",
    "",
    "Generated by `npm run gen` from the zod schemas in `crds/`; do not edit by hand.",
    "",
  ];
  for (const crd of customResourceDefinitions()) {
    const names = crd.spec.names as { kind: string; shortNames: string[] };
    const root = (crd.spec.versions as { schema: { openAPIV3Schema: JSONSchemaProps } }[])[0]!.schema.openAPIV3Schema;
    parts.push(`## ${names.kind} (short name \`${names.shortNames.join(", ")}\`)`, "", root.description ?? "", "", "| field | type | required | description |", "|---|---|---|---|");
    const rows: string[] = [];
    for (const top of ["spec", "status"]) {
      const node = root.properties?.[top];
      if (node) fieldRows(node, top, top === "spec", rows);
    }
    parts.push(...rows, "");
  }
  parts.push(MERGE_RULES, "## Conditions and reasons", "", "| condition | status | reason | meaning |", "|---|---|---|---|");
  for (const r of Object.values(REASONS)) parts.push(`| ${r.type} | ${r.status} | ${r.reason} | ${r.meaning} |`);
  parts.push("", "Every condition carries `observedGeneration`; `lastTransitionTime` changes only when `status` does.", "");
  return parts.join("\n");
}
