import { test } from "node:test";
import assert from "node:assert/strict";
import { AgentSessionSpec } from "../../../crds/agentsession.js";
import { AgentTemplateSpec } from "../../../crds/agenttemplate.js";
import { mergeTemplate } from "../../../crds/merge.js";

const vault = { vault: { path: "kv/data/a", key: "k" } };
const template = (spec: Record<string, unknown>): ReturnType<typeof AgentTemplateSpec.parse> => AgentTemplateSpec.parse(spec);
const session = (spec: Record<string, unknown>): ReturnType<typeof AgentSessionSpec.parse> => AgentSessionSpec.parse({ templateRef: { name: "t" }, ...spec });

const base = template({
  agent: { image: "claude:1", command: ["claude"], env: [{ name: "TERM", value: "xterm" }, { name: "LANG", value: "C" }] },
  credentials: [{ name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.com"], source: vault }],
  egress: { allow: ["api.anthropic.com"] },
  lifecycle: { mode: "Batch", ttlSeconds: 600 },
  isolation: { runtimeClassName: "gvisor" },
});
const locked = (...parts: string[]): ReturnType<typeof AgentTemplateSpec.parse> => template({ ...base, locked: parts });

interface Row {
  name: string;
  template: ReturnType<typeof AgentTemplateSpec.parse> | undefined;
  session: Record<string, unknown>;
  expect: (r: ReturnType<typeof mergeTemplate>) => void;
}

const ok = (r: ReturnType<typeof mergeTemplate>): Extract<typeof r, { ok: true }>["spec"] => {
  assert.ok(r.ok, r.ok ? "" : r.violations.join("\n"));
  return r.spec;
};
const refused = (fragment: string) => (r: ReturnType<typeof mergeTemplate>): void => {
  assert.equal(r.ok, false, `expected a violation naming ${fragment}`);
  if (!r.ok) assert.ok(r.violations.some((v) => v.includes(fragment)), r.violations.join("\n"));
};

const rows: Row[] = [
  { name: "no template: the session as is", template: undefined, session: { templateRef: undefined, agent: { image: "x:1" } }, expect: (r) => assert.equal(ok(r).agent.image, "x:1") },
  { name: "no template and no image", template: undefined, session: { agent: { args: ["a"] } }, expect: refused("spec.agent.image") },
  { name: "template fills everything", template: base, session: {}, expect: (r) => { const s = ok(r); assert.equal(s.agent.image, "claude:1"); assert.equal(s.lifecycle?.mode, "Batch"); assert.equal(s.credentials?.length, 1); assert.equal(s.isolation?.runtimeClassName, "gvisor"); } },
  { name: "session overrides the image when not locked", template: base, session: { agent: { image: "claude:2" } }, expect: (r) => { const s = ok(r); assert.equal(s.agent.image, "claude:2"); assert.deepEqual(s.agent.command, ["claude"]); } },
  { name: "locked image refuses a different one", template: locked("agent.image"), session: { agent: { image: "evil:1" } }, expect: refused("spec.agent.image") },
  { name: "locked image accepts the same one", template: locked("agent.image"), session: { agent: { image: "claude:1" } }, expect: (r) => assert.equal(ok(r).agent.image, "claude:1") },
  { name: "locked command refuses args", template: locked("agent.command"), session: { agent: { args: ["--dangerously"] } }, expect: refused("spec.agent.args") },
  { name: "env merges by name, session wins", template: base, session: { agent: { env: [{ name: "LANG", value: "C.UTF-8" }, { name: "X", value: "1" }] } }, expect: (r) => assert.deepEqual(ok(r).agent.env, [{ name: "TERM", value: "xterm" }, { name: "LANG", value: "C.UTF-8" }, { name: "X", value: "1" }]) },
  { name: "credentials merge by name", template: base, session: { credentials: [{ name: "gh", env: "GH_TOKEN", hosts: ["github.com"], source: vault }] }, expect: (r) => assert.deepEqual(ok(r).credentials?.map((c) => c.name), ["anthropic", "gh"]) },
  { name: "locked credentials refuse an extra one", template: locked("credentials"), session: { credentials: [{ name: "gh", env: "GH_TOKEN", hosts: ["github.com"], source: vault }] }, expect: refused("credentials[gh]") },
  { name: "locked credentials refuse rebinding hosts", template: locked("credentials"), session: { credentials: [{ name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["evil.example"], source: vault }] }, expect: refused("credentials[anthropic]") },
  { name: "egress is the union", template: base, session: { egress: { allow: ["github.com"] } }, expect: (r) => assert.deepEqual(ok(r).egress?.allow, ["api.anthropic.com", "github.com"]) },
  { name: "locked egress refuses a new host", template: locked("egress"), session: { egress: { allow: ["github.com"] } }, expect: refused("egress.allow[github.com]") },
  { name: "locked egress refuses private ranges", template: locked("egress"), session: { egress: { allow: [], allowPrivate: ["10.0.0.0/8"] } }, expect: refused("egress.allowPrivate") },
  { name: "lifecycle fields override one by one", template: base, session: { lifecycle: { ttlSeconds: 60 } }, expect: (r) => assert.deepEqual(ok(r).lifecycle, { mode: "Batch", ttlSeconds: 60 }) },
  { name: "locked lifecycle refuses a longer ttl", template: locked("lifecycle"), session: { lifecycle: { ttlSeconds: 999999 } }, expect: refused("spec.lifecycle.ttlSeconds") },
  { name: "locked isolation refuses another runtime class", template: locked("isolation"), session: { isolation: { runtimeClassName: "runc" } }, expect: refused("spec.isolation.runtimeClassName") },
  { name: "locked isolation refuses a field the template left unset", template: locked("isolation"), session: { isolation: { nodeSelector: { a: "b" } } }, expect: refused("spec.isolation.nodeSelector") },
  { name: "locked workspace refuses storage", template: locked("workspace"), session: { workspace: { storage: { size: "1Ti" } } }, expect: refused("spec.workspace.storage") },
  { name: "session env colliding with a template credential", template: base, session: { agent: { env: [{ name: "ANTHROPIC_API_KEY", value: "real?" }] } }, expect: refused("credentials[anthropic].env") },
  { name: "idle timeout against a template's Batch mode", template: base, session: { lifecycle: { idleTimeoutSeconds: 30 } }, expect: refused("idleTimeoutSeconds") },
  { name: "access is the session's", template: base, session: { access: { users: ["alice"] } }, expect: (r) => assert.deepEqual(ok(r).access, { users: ["alice"], viewers: [] }) },
];

for (const row of rows) {
  test(`mergeTemplate: ${row.name}`, () => {
    row.expect(mergeTemplate(session(row.session), row.template, "t"));
  });
}

test("mergeTemplate is deterministic and does not mutate its inputs", () => {
  const s = session({ agent: { env: [{ name: "A", value: "1" }] } });
  const before = structuredClone([s, base]);
  assert.deepEqual(mergeTemplate(s, base, "t"), mergeTemplate(s, base, "t"));
  assert.deepEqual([s, base], before);
});
