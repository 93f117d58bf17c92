import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { AgentTemplateSpec } from "../../../crds/agenttemplate.js";
import { mergeTemplate } from "../../../crds/merge.js";
import { desired } from "../../../operator/desired.js";
import { MANAGED_BY, POD_LABEL, POOL_HASH_LABEL, SESSION_LABEL, SPEC_HASH, WARM_POOL_LABEL } from "../../../operator/names.js";
import { ensureStubs } from "../../../operator/stubs.js";
import { adoptionCandidates, desiredWarm, REFILL_HOLD_MS, eligibility, inPool, ownedByPod, planPool, poolHash, poolRefusal, templatePoolHash, warmPodName, type PoolTemplate } from "../../../operator/warm-pool.js";
import { platform, session } from "./fixtures.js";

const base = {
  agent: { image: "registry.local/shell:dev", command: ["bash"], env: [{ name: "TERM", value: "xterm-256color" }] },
  credentials: [{ name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.com"], source: { secretKeyRef: { name: "anthropic-real", key: "api_key" } } }],
  egress: { allow: ["*.github.com"] },
  lifecycle: { mode: "Interactive", idleTimeoutSeconds: 600 },
  warmPool: { size: 2 },
};
const tpl = (extra: Record<string, unknown> = {}): PoolTemplate => ({ name: "shell", namespace: "team-a", uid: "uid-tpl", spec: AgentTemplateSpec.parse({ ...base, ...extra }) });
const ref = { templateRef: { name: "shell" } };

test("pool hash: overrides that do not reach the pod keep a session warm; anything that shapes the pod makes it cold", () => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    ["nothing overridden", {}, true],
    ["ttlSeconds (counted from the session's own start)", { lifecycle: { ttlSeconds: 60 } }, true],
    ["idleTimeoutSeconds", { lifecycle: { idleTimeoutSeconds: 30 } }, true],
    ["mode repeated", { lifecycle: { mode: "Interactive" } }, true],
    ["access lists", { access: { users: ["alice"], viewers: ["bob"] } }, true],
    ["image repeated", { agent: { image: "registry.local/shell:dev" } }, true],
    ["egress host the template has", { egress: { allow: ["*.github.com"] } }, true],
    ["command", { agent: { command: ["sh"] } }, false],
    ["args", { agent: { args: ["-l"] } }, false],
    ["image", { agent: { image: "registry.local/other:dev" } }, false],
    ["env added", { agent: { env: [{ name: "EXTRA", value: "1" }] } }, false],
    ["env value changed", { agent: { env: [{ name: "TERM", value: "dumb" }] } }, false],
    ["tty", { agent: { tty: false } }, false],
    ["resources", { agent: { resources: { limits: { memory: "1Gi" } } } }, false],
    ["runAsUser", { agent: { runAsUser: 2000 } }, false],
    ["credential added", { credentials: [{ name: "gh", env: "GH_TOKEN", hosts: ["api.github.com"], source: { secretKeyRef: { name: "gh", key: "t" } } }] }, false],
    ["credential hosts changed", { credentials: [{ ...base.credentials[0], hosts: ["api.anthropic.com", "x.example.com"] }] }, false],
    ["egress host added", { egress: { allow: ["registry.npmjs.org"] } }, false],
    ["private range allowed", { egress: { allowPrivate: ["10.0.0.0/8"] } }, false],
    ["runtime class", { isolation: { runtimeClassName: "gvisor" } }, false],
    ["workspace mount path", { workspace: { mountPath: "/src" } }, false],
    ["workspace storage", { workspace: { storage: { size: "1Gi" } } }, false],
  ];
  const t = tpl();
  const pool = templatePoolHash(t, platform);
  assert.ok(pool);
  for (const [label, override, warm] of cases) {
    const spec = session("s", { ...ref, ...override }).spec;
    const h = poolHash(spec, t.spec, t.name, platform);
    assert.equal(h === pool, warm, label);
    const e = eligibility(spec, t, platform);
    assert.equal(e.eligible, warm, `${label}: eligibility`);
  }
});

test("pool hash: the platform (image) and the template's own edits change it", () => {
  const t = tpl();
  const h = templatePoolHash(t, platform);
  assert.notEqual(templatePoolHash(t, { ...platform, image: "agentbox/platform:next" }), h);
  assert.notEqual(templatePoolHash(tpl({ egress: { allow: ["other.example.com"] } }), platform), h);
  assert.equal(templatePoolHash(tpl({ warmPool: { size: 7 } }), platform), h, "the pool's size does not shape its pods");
  assert.equal(templatePoolHash(tpl({ agent: undefined }), platform), undefined, "a template without an image builds no pod");
});

test("eligibility: no template, no pool, or a pool the template may not have gives a cold pod", () => {
  const spec = session("s", ref).spec;
  const cases: [string, ReturnType<typeof eligibility>["eligible"], ReturnType<typeof eligibility>][] = [
    ["no templateRef", false, eligibility(session("s", { agent: { image: "x:1" } }).spec, tpl(), platform)],
    ["template unknown", false, eligibility(spec, undefined, platform)],
    ["size 0", false, eligibility(spec, tpl({ warmPool: { size: 0 } }), platform)],
    ["no warmPool", false, eligibility(spec, tpl({ warmPool: undefined }), platform)],
    ["pool of the template", true, eligibility(spec, tpl(), platform)],
  ];
  for (const [label, want, got] of cases) assert.equal(got.eligible, want, label);
});

test("templates with a workspace claim or in Batch mode keep no pool: refused by the schema, ignored by the operator", () => {
  const storage = { ...base, workspace: { storage: { size: "1Gi" } } };
  const batch = { ...base, lifecycle: { mode: "Batch" } };
  for (const [label, spec] of [["storage", storage], ["batch", batch]] as const) {
    const r = AgentTemplateSpec.safeParse(spec);
    assert.equal(r.success, false, label);
    assert.match(r.error!.issues[0]!.message, /warmPool\.size must be 0/, label);
    // An older CRD without the rule might admit it: the operator ignores the pool then.
    const admitted = AgentTemplateSpec.parse({ ...spec, warmPool: undefined });
    const asked = { ...admitted, warmPool: { size: 3 } };
    assert.match(poolRefusal(asked) ?? "", /warmPool is ignored/, label);
  }
  assert.equal(AgentTemplateSpec.safeParse({ ...base, warmPool: { size: 51 } }).success, false, "size above 50");
  assert.equal(AgentTemplateSpec.safeParse({ ...base, warmPool: { size: -1 } }).success, false, "negative size");
  assert.equal(AgentTemplateSpec.parse({ ...base, warmPool: {} }).warmPool?.size, 0, "size defaults to 0");
  assert.equal(AgentTemplateSpec.safeParse({ ...storage, warmPool: { size: 0 } }).success, true, "size 0 with storage is fine");
});

interface PodOpts {
  name: string;
  template?: string;
  owner?: string;
  hash?: string;
  ready?: boolean;
  created?: string;
  deleting?: boolean;
  phase?: string;
  rv?: string;
}
function pod(o: PodOpts): V1Pod {
  return {
    metadata: {
      name: o.name,
      namespace: "team-a",
      uid: `uid-${o.name}`,
      resourceVersion: o.rv ?? "1",
      creationTimestamp: new Date(o.created ?? "2026-11-25T10:00:00Z"),
      labels: { [MANAGED_BY]: "agentbox", ...(o.template === "" ? {} : { [WARM_POOL_LABEL]: o.template ?? "shell" }), [POOL_HASH_LABEL]: o.hash ?? "h1" },
      ownerReferences: [{ apiVersion: "agentbox.dev/v1alpha1", kind: "AgentTemplate", name: "shell", uid: o.owner ?? "uid-tpl", controller: true }],
      ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    status: { phase: o.phase ?? "Running", conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
  };
}

test("pool membership and adoption candidates: only live pods of this template's pool with the session's hash, Ready and oldest first", () => {
  const t = { name: "shell", uid: "uid-tpl" };
  const pods = [
    pod({ name: "young", created: "2026-11-25T10:05:00Z" }),
    pod({ name: "old", created: "2026-11-25T10:01:00Z" }),
    pod({ name: "starting", ready: false, created: "2026-11-25T09:00:00Z" }),
    pod({ name: "other-hash", hash: "h2" }),
    pod({ name: "other-template", template: "codex" }),
    pod({ name: "foreign-owner", owner: "uid-someone-else" }),
    pod({ name: "adopted", template: "" }),
    pod({ name: "deleting", deleting: true }),
    pod({ name: "failed", phase: "Failed" }),
    pod({ name: "no-rv", rv: "" }),
  ];
  assert.deepEqual(adoptionCandidates(pods, t, "h1").map((p) => p.metadata?.name), ["old", "young", "starting"]);
  assert.deepEqual(pods.filter((p) => inPool(p, t)).map((p) => p.metadata?.name), ["young", "old", "starting", "other-hash", "no-rv"]);
  assert.deepEqual(adoptionCandidates(pods, t, "h3"), []);
});

test("planPool: create what is missing, count pods not yet in the cache, remove stale and extra pods", () => {
  const ready = (name: string, created = "2026-11-25T10:00:00Z", hash = "h1"): V1Pod => pod({ name, created, hash });
  const cases: { label: string; members: V1Pod[]; size: number; hash: string | undefined; pending: number; msSinceAdoption?: number; create: number; remove: string[]; requeueAfterMs?: number }[] = [
    { label: "empty pool fills", members: [], size: 3, hash: "h1", pending: 0, create: 3, remove: [] },
    { label: "created but not yet cached are counted", members: [ready("a")], size: 3, hash: "h1", pending: 2, create: 0, remove: [] },
    { label: "full pool does nothing", members: [ready("a"), ready("b")], size: 2, hash: "h1", pending: 0, create: 0, remove: [] },
    { label: "stale hash replaced", members: [ready("a"), ready("b", undefined, "h0")], size: 2, hash: "h1", pending: 0, create: 1, remove: ["b"] },
    {
      label: "size lowered: extras go, not-Ready and newest first",
      members: [ready("a", "2026-11-25T10:00:00Z"), ready("b", "2026-11-25T10:02:00Z"), pod({ name: "c", ready: false, created: "2026-11-25T09:00:00Z" })],
      size: 1,
      hash: "h1",
      pending: 0,
      create: 0,
      remove: ["c", "b"],
    },
    { label: "size 0 empties the pool", members: [ready("a"), ready("b")], size: 0, hash: "h1", pending: 0, create: 0, remove: ["a", "b"] },
    { label: "a template that does not build keeps nothing", members: [ready("a")], size: 2, hash: undefined, pending: 0, create: 0, remove: ["a"] },
    { label: "just after an adoption the refill waits for the burst to pass", members: [ready("a")], size: 3, hash: "h1", pending: 0, msSinceAdoption: 1000, create: 0, remove: [], requeueAfterMs: REFILL_HOLD_MS - 1000 },
    { label: "the wait does not hold back removals", members: [ready("a"), ready("b", undefined, "h0")], size: 3, hash: "h1", pending: 0, msSinceAdoption: 0, create: 0, remove: ["b"], requeueAfterMs: REFILL_HOLD_MS },
    { label: "after the wait the pool refills", members: [ready("a")], size: 3, hash: "h1", pending: 0, msSinceAdoption: REFILL_HOLD_MS, create: 2, remove: [] },
    { label: "nothing to create: no wait", members: [ready("a")], size: 1, hash: "h1", pending: 0, msSinceAdoption: 10, create: 0, remove: [] },
  ];
  for (const c of cases) {
    const plan = planPool(c);
    assert.equal(plan.create, c.create, c.label);
    assert.deepEqual(plan.remove.map((p) => p.metadata?.name), c.remove, c.label);
    assert.equal(plan.requeueAfterMs, c.requeueAfterMs, c.label);
  }
});

test("a warm pod is exactly the pod the adopting session's own build wants, so adoption never replaces it", () => {
  const t = tpl();
  const podName = warmPodName("shell", "abcde");
  const merged = mergeTemplate(ref, t.spec, "shell");
  assert.ok(merged.ok);
  const stubs = ensureStubs({}, merged.spec.credentials ?? []);
  const warm = desiredWarm({ template: t, podName, stubs, platform });
  assert.ok(warm);
  // The session, overriding only what does not shape the pod, builds the same pod from the
  // stubs it read from the adopted stub Secret.
  const s = session("alice-1", { ...ref, lifecycle: { ttlSeconds: 3600 }, access: { users: ["alice"] } });
  const own = desired({ session: s, template: t.spec, stubs, platform, podName });
  assert.ok(own.ok);
  assert.equal(warm.pod.metadata?.annotations?.[SPEC_HASH], own.objects.pod.metadata?.annotations?.[SPEC_HASH]);
  assert.deepEqual(warm.pod.spec, own.objects.pod.spec);
  assert.deepEqual(warm.children.find((c) => c.metadata?.name === `${podName}-egress`)?.["spec" as never], own.objects.networkPolicy.spec);
  assert.deepEqual((warm.children.find((c) => c.metadata?.name === `${podName}-sidecar`) as { data?: unknown }).data, own.objects.sidecarConfig.data);
  // Labels and owners: the pool's, not a session's.
  assert.deepEqual(warm.pod.metadata?.labels, { [MANAGED_BY]: "agentbox", [WARM_POOL_LABEL]: "shell", [POOL_HASH_LABEL]: warm.hash, [POD_LABEL]: podName });
  assert.equal(warm.hash, templatePoolHash(t, platform));
  assert.deepEqual(warm.pod.metadata?.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]), [["AgentTemplate", "uid-tpl", true]]);
  for (const c of warm.children) assert.equal(c.metadata?.labels?.[SESSION_LABEL], undefined, `${c.kind} carries no session label`);
  assert.deepEqual(own.objects.networkPolicy.spec?.podSelector?.matchLabels, { [POD_LABEL]: podName }, "the NetworkPolicy keeps selecting the pod after adoption");
  const child = ownedByPod(warm.children[0]!, { metadata: { name: podName, uid: "uid-pod" } });
  assert.deepEqual(child.metadata?.ownerReferences, [{ apiVersion: "v1", kind: "Pod", name: podName, uid: "uid-pod", controller: true }]);
  // The agent is locked down as in any session's pod.
  assert.equal(warm.pod.spec?.automountServiceAccountToken, false);
  assert.equal(warm.pod.spec?.containers[0]?.securityContext?.allowPrivilegeEscalation, false);
});

test("a cold session's objects are unchanged: named after the session, its NetworkPolicy selecting the session label", () => {
  const s = session("cold-1", { agent: { image: "x:1" } });
  const r = desired({ session: s, template: undefined, stubs: {}, platform });
  assert.ok(r.ok);
  assert.equal(r.objects.pod.metadata?.name, "cold-1");
  assert.equal(r.objects.pod.metadata?.labels?.[POD_LABEL], undefined);
  assert.deepEqual(r.objects.networkPolicy.spec?.podSelector?.matchLabels, { [SESSION_LABEL]: "cold-1" });
});

test("warm pod names fit a label value and keep the template's name where they can", () => {
  assert.equal(warmPodName("shell", "abcde"), "shell-warm-abcde");
  const long = warmPodName("t".repeat(80), "abcde");
  assert.ok(long.length <= 63, long);
  assert.match(long, /^t+-[0-9a-f]{8}-warm-abcde$/);
});
