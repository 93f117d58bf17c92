import { isDeepStrictEqual } from "node:util";
import type { AgentSessionSpec } from "./agentsession.js";
import type { AgentTemplateSpec, Lockable } from "./agenttemplate.js";
import type { z } from "zod";
import type { Credential, EnvVar } from "./spec.js";

type Spec = AgentSessionSpec;
type Agent = NonNullable<Spec["agent"]>;
type Cred = z.output<typeof Credential>;
type Env = z.output<typeof EnvVar>;

/** The spec a session runs with once its template is applied: an image is always present. */
export type EffectiveSpec = Omit<Spec, "templateRef" | "agent"> & { agent: Agent & { image: string } };

export type MergeResult = { ok: true; spec: EffectiveSpec } | { ok: false; violations: string[] };

/**
 * Applies a template to a session spec. The rules, documented in docs/api.md:
 * - Scalars and whole sub-objects (agent fields, lifecycle fields, isolation fields, workspace
 *   fields): the session's value wins where it sets one, else the template's.
 * - agent.env and credentials merge by name, the session's entry winning; egress.allow and
 *   egress.allowPrivate are the union of both.
 * - A part the template lists in `locked` keeps the template's value: a session that sets a
 *   different value there (or adds entries) is refused with a violation naming the field.
 * - access is the session's alone.
 */
export function mergeTemplate(session: Spec, template: AgentTemplateSpec | undefined, templateName = ""): MergeResult {
  const locked = new Set<Lockable>(template?.locked ?? []);
  const t: Partial<AgentTemplateSpec> = template ?? {};
  const violations: string[] = [];
  const lockedBy = (field: string, part: Lockable): string =>
    `spec.${field}: template ${templateName || "(unnamed)"} locks ${part}; remove ${field} from the session or use a template that allows it`;

  // Locked parts: any field the session sets that differs from the template's is a violation.
  const lockedFields: [Lockable, string, unknown, unknown][] = [
    ["agent.image", "agent.image", session.agent?.image, t.agent?.image],
    ["agent.command", "agent.command", session.agent?.command, t.agent?.command],
    ["agent.command", "agent.args", session.agent?.args, t.agent?.args],
  ];
  for (const part of ["lifecycle", "isolation", "workspace"] as const) {
    for (const [key, value] of Object.entries(session[part] ?? {})) {
      lockedFields.push([part, `${part}.${key}`, value, (t[part] as Record<string, unknown> | undefined)?.[key]]);
    }
  }
  for (const [part, field, mine, theirs] of lockedFields) {
    if (locked.has(part) && mine !== undefined && !isDeepStrictEqual(mine, theirs)) violations.push(lockedBy(field, part));
  }
  if (locked.has("credentials")) {
    for (const c of session.credentials ?? []) {
      const theirs = t.credentials?.find((x) => x.name === c.name);
      if (!isDeepStrictEqual(c, theirs)) violations.push(lockedBy(`credentials[${c.name}]`, "credentials"));
    }
  }
  if (locked.has("egress")) {
    const allowed = new Set(t.egress?.allow ?? []);
    for (const host of session.egress?.allow ?? []) if (!allowed.has(host)) violations.push(lockedBy(`egress.allow[${host}]`, "egress"));
    const allowedPrivate = new Set(t.egress?.allowPrivate ?? []);
    for (const cidr of session.egress?.allowPrivate ?? []) if (!allowedPrivate.has(cidr)) violations.push(lockedBy(`egress.allowPrivate[${cidr}]`, "egress"));
  }

  const agent: Agent = { ...defined(t.agent ?? {}), ...defined(session.agent ?? {}) };
  const env = byName<Env>(t.agent?.env, session.agent?.env);
  if (env.length > 0) agent.env = env;
  else delete agent.env;
  const credentials = byName<Cred>(t.credentials, session.credentials);
  const image = agent.image;
  if (image === undefined) violations.push("spec.agent.image: neither the session nor its template sets an image");

  const spec: Omit<EffectiveSpec, "agent"> = {};
  if (credentials.length > 0) spec.credentials = credentials;
  const allow = union(t.egress?.allow, session.egress?.allow);
  const allowPrivate = union(t.egress?.allowPrivate, session.egress?.allowPrivate);
  if (t.egress || session.egress) spec.egress = { allow, ...(allowPrivate.length > 0 ? { allowPrivate } : {}) };
  for (const part of ["lifecycle", "isolation", "workspace"] as const) {
    if (t[part] || session[part]) Object.assign(spec, { [part]: { ...defined(t[part] ?? {}), ...defined(session[part] ?? {}) } });
  }
  if (session.access) spec.access = session.access;

  for (const c of credentials) {
    if (env.some((e) => e.name === c.env)) violations.push(`spec.credentials[${c.name}].env: ${c.env} is also set in agent.env (after applying the template); the agent would not see the stub`);
  }
  const envNames = credentials.map((c) => c.env);
  if (new Set(envNames).size !== envNames.length) violations.push("spec.credentials[].env: two credentials (after applying the template) use the same env name");
  const mode = spec.lifecycle?.mode ?? "Interactive";
  if (spec.lifecycle?.ttlSecondsAfterFinished !== undefined && mode !== "Batch") violations.push("spec.lifecycle.ttlSecondsAfterFinished: applies only to mode Batch (after applying the template)");
  if (spec.lifecycle?.idleTimeoutSeconds !== undefined && mode !== "Interactive") violations.push("spec.lifecycle.idleTimeoutSeconds: applies only to mode Interactive (after applying the template)");

  if (violations.length > 0 || image === undefined) return { ok: false, violations };
  return { ok: true, spec: { ...spec, agent: { ...agent, image } } };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function byName<T extends { name: string }>(base: readonly T[] | undefined, over: readonly T[] | undefined): T[] {
  const out = new Map<string, T>();
  for (const item of base ?? []) out.set(item.name, item);
  for (const item of over ?? []) out.set(item.name, item);
  return [...out.values()];
}

function union(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] {
  return [...new Set([...(a ?? []), ...(b ?? [])])];
}
