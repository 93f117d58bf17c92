import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { desired, SIDECAR_UID, CA_FILE, PROXY_URL, type DesiredObjects } from "../../../operator/desired.js";
import { ensureStubs } from "../../../operator/stubs.js";
import { mergeTemplate } from "../../../crds/merge.js";
import { platform, session, SESSIONS, template, TEMPLATES } from "./fixtures.js";
import { captureRules, DEFAULT_CAPTURE } from "../../../sidecar/capture.js";

// Real values as they would sit in Vault or the user's Secrets: the builder never receives them,
// and this scan proves none of them, nor any encoding of them, leaks into any object.
const REAL = ["sk-ant-api03-" + "REAL-do-not-leak-0123456789", "sk-proj-REAL-openai-value-abcdef", "github_pat_REAL_fine_grained_value_xyz"];

interface Case {
  label: string;
  objects: DesiredObjects;
  stubs: Record<string, string>;
}

function build(): Case[] {
  const out: Case[] = [];
  for (const [sName, spec] of Object.entries(SESSIONS)) {
    for (const [tName, tmpl] of Object.entries(TEMPLATES)) {
      // With a template, the image comes from it (a locked image would refuse the session's).
      const withTemplate = tmpl ? { ...spec, templateRef: { name: "claude-code" }, agent: { ...(spec.agent as object), image: undefined } } : spec;
      const s = session(`s-${sName}`.toLowerCase(), withTemplate);
      const merged = mergeTemplate(s.spec, tmpl, "claude-code");
      if (!merged.ok) continue; // refused combinations are covered by the merge tests
      const stubs = ensureStubs({}, merged.spec.credentials ?? []);
      const r = desired({ session: s, template: tmpl, stubs, platform });
      assert.ok(r.ok, `${sName} × ${tName}`);
      out.push({ label: `${sName} × ${tName}`, objects: r.objects, stubs });
    }
  }
  return out;
}

const CASES = build();
const containers = (pod: V1Pod): V1Container[] => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
const agentOf = (pod: V1Pod): V1Container => pod.spec!.containers.find((c) => c.name === "agent")!;
const sidecarOf = (pod: V1Pod): V1Container => pod.spec!.initContainers!.find((c) => c.name === "sidecar")!;

test("the table covers sessions × templates, including refused ones", () => {
  assert.ok(CASES.length >= 12, `only ${CASES.length} combinations built`);
});

for (const { label, objects, stubs } of CASES) {
  const pod = objects.pod;
  test(`${label}: pod-level isolation`, () => {
    assert.equal(pod.spec!.automountServiceAccountToken, false);
    assert.equal(pod.spec!.shareProcessNamespace, false);
    assert.equal(pod.spec!.hostNetwork, false);
    assert.equal(pod.spec!.hostPID, false);
    assert.equal(pod.spec!.securityContext?.seccompProfile?.type, "RuntimeDefault");
    assert.equal(pod.spec!.runtimeClassName, objects.spec.isolation?.runtimeClassName);
  });

  test(`${label}: capture init container first, then the native sidecar`, () => {
    const [capture, sidecar, ...rest] = pod.spec!.initContainers!;
    assert.equal(rest.length, 0);
    assert.equal(capture!.name, "egress-capture");
    assert.deepEqual(capture!.command!.slice(0, 2), ["sh", "-c"]);
    assert.deepEqual(capture!.command!.slice(4), [captureRules(DEFAULT_CAPTURE, 4), captureRules(DEFAULT_CAPTURE, 6)]);
    assert.deepEqual(capture!.securityContext?.capabilities, { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] });
    assert.equal(capture!.restartPolicy, undefined, "capture must run to completion, not as a sidecar");
    assert.equal(sidecar!.name, "sidecar");
    assert.equal(sidecar!.restartPolicy, "Always");
    assert.equal(sidecar!.startupProbe?.httpGet?.path, "/readyz");
    assert.equal(sidecar!.securityContext?.runAsUser, SIDECAR_UID);
    assert.equal(sidecar!.securityContext?.runAsNonRoot, true);
    assert.deepEqual(sidecar!.securityContext?.capabilities, { drop: ["ALL"] });
    assert.deepEqual(sidecar!.command, ["node", "--max-semi-space-size=4", "--max-old-space-size=160", "/app/dist/sidecar/main.js", "--config", "/etc/agentbox/sidecar/config.json"]);
  });

  test(`${label}: the agent is non-root, capability-less, cannot escalate`, () => {
    const sc = agentOf(pod).securityContext!;
    assert.equal(sc.runAsNonRoot, true);
    assert.ok(sc.runAsUser! > 0 && sc.runAsUser !== SIDECAR_UID);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.privileged, false);
    assert.deepEqual(sc.capabilities, { drop: ["ALL"] });
    assert.equal(sc.seccompProfile?.type, "RuntimeDefault");
  });

  test(`${label}: only the sidecar holds a service-account token, audience-scoped`, () => {
    const tokenVolumes = pod.spec!.volumes!.filter((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)).map((v) => v.name);
    assert.deepEqual(tokenVolumes, ["sidecar-token"]);
    assert.equal(pod.spec!.volumes!.find((v) => v.name === "sidecar-token")!.projected!.sources![0]!.serviceAccountToken!.audience, "vault");
    for (const c of containers(pod)) {
      const mounts = (c.volumeMounts ?? []).map((m) => m.name);
      assert.equal(mounts.includes("sidecar-token"), c.name === "sidecar", `${c.name} token mount`);
    }
  });

  test(`${label}: the agent mounts neither the sidecar's config nor the real secrets`, () => {
    const mounts = (agentOf(pod).volumeMounts ?? []).map((m) => m.name).sort();
    assert.deepEqual(mounts, ["ca", "workspace"]);
    assert.equal(agentOf(pod).volumeMounts!.find((m) => m.name === "ca")!.readOnly, true);
    for (const v of pod.spec!.volumes!) {
      if (v.secret && v.secret.secretName !== objects.sidecarConfig.metadata!.name) assert.ok(v.name.startsWith("cred-"));
    }
    assert.ok((sidecarOf(pod).volumeMounts ?? []).every((m) => m.name !== "workspace"));
  });

  test(`${label}: stub env from the stub Secret, proxy and trust variables`, () => {
    const env = new Map(agentOf(pod).env!.map((e) => [e.name, e]));
    for (const c of objects.spec.credentials ?? []) {
      const e = env.get(c.env)!;
      assert.equal(e.value, undefined);
      assert.deepEqual(e.valueFrom?.secretKeyRef, { name: objects.stubSecret.metadata!.name, key: c.name });
      assert.equal(Buffer.from(objects.stubSecret.data![c.name]!, "base64").toString(), stubs[c.name]);
    }
    for (const n of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) assert.equal(env.get(n)?.value, PROXY_URL);
    for (const n of ["NO_PROXY", "no_proxy"]) assert.equal(env.get(n)?.value, "localhost,127.0.0.1,::1");
    for (const n of ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"]) assert.equal(env.get(n)?.value, CA_FILE);
    assert.equal(env.size, agentOf(pod).env!.length, "an env name appears twice");
  });

  test(`${label}: every object is labelled and owned by the session`, () => {
    const all = [objects.pod, objects.stubSecret, objects.sidecarConfig, objects.networkPolicy, ...(objects.workspace ? [objects.workspace] : [])];
    for (const o of all) {
      assert.equal(o.metadata!.labels!["app.kubernetes.io/managed-by"], "agentbox");
      assert.match(o.metadata!.labels!["agentbox.dev/session"]!, /^s-/);
      assert.equal(o.metadata!.namespace, "team-a");
      const [owner, ...more] = o.metadata!.ownerReferences!;
      assert.equal(more.length, 0);
      assert.deepEqual(owner, { apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", name: o.metadata!.labels!["agentbox.dev/session"], uid: `uid-${o.metadata!.labels!["agentbox.dev/session"]}`, controller: true, blockOwnerDeletion: true });
    }
  });

  test(`${label}: the sidecar config is valid for the sidecar and holds stubs, never values`, () => {
    const text = Buffer.from(objects.sidecarConfig.data!["config.json"]!, "base64").toString();
    const config = parseSidecarConfig(JSON.parse(text));
    assert.deepEqual(config.credentials.map((c) => c.stub).sort(), Object.values(stubs).sort());
    for (const c of config.credentials) {
      if ("file" in c.source) assert.match(c.source.file.path, /^\/var\/run\/agentbox\/secrets\//);
    }
  });

  test(`${label}: no real value appears anywhere, in any encoding`, () => {
    const text = JSON.stringify(objects);
    const decoded = [objects.stubSecret, objects.sidecarConfig].flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString()));
    const haystack = [text, ...decoded].join("\n");
    for (const real of REAL) {
      for (const form of [real, Buffer.from(real).toString("base64"), encodeURIComponent(real)]) assert.equal(haystack.includes(form), false);
    }
    for (const stub of Object.values(stubs)) assert.ok(!REAL.includes(stub));
  });

  test(`${label}: NetworkPolicy denies ingress and private egress`, () => {
    const np = objects.networkPolicy.spec!;
    assert.deepEqual(np.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(np.ingress, []);
    const v4 = np.egress![0]!.to![0]!.ipBlock!;
    assert.equal(v4.cidr, "0.0.0.0/0");
    for (const b of ["169.254.0.0/16", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]) assert.ok(v4.except!.includes(b));
    const allowPrivate = objects.spec.egress?.allowPrivate ?? [];
    assert.equal(v4.except!.includes("10.0.0.0/8"), !allowPrivate.includes("10.0.0.0/8"));
  });

  test(`${label}: a PVC exactly when storage is asked`, () => {
    const claim = pod.spec!.volumes!.find((v) => v.name === "workspace")!;
    if (objects.spec.workspace?.storage) {
      assert.equal(claim.persistentVolumeClaim?.claimName, objects.workspace!.metadata!.name);
      assert.equal(objects.workspace!.spec!.resources!.requests!.storage, objects.spec.workspace.storage.size);
    } else {
      assert.equal(objects.workspace, undefined);
      assert.deepEqual(claim.emptyDir, {});
    }
  });
}

test("desired is deterministic given its stubs, and the spec hash follows the spec", () => {
  const s = session("det", SESSIONS.anthropic!);
  const stubs = ensureStubs({}, s.spec.credentials ?? []);
  const a = desired({ session: s, template: undefined, stubs, platform });
  const b = desired({ session: s, template: undefined, stubs, platform });
  assert.deepEqual(a, b);
  const changed = desired({ session: session("det", { ...SESSIONS.anthropic!, egress: { allow: ["example.com"] } }), template: undefined, stubs, platform });
  assert.ok(a.ok && changed.ok);
  assert.notEqual(a.objects.pod.metadata!.annotations!["agentbox.dev/pod-spec-hash"], changed.objects.pod.metadata!.annotations!["agentbox.dev/pod-spec-hash"]);
});

test("Batch pods never restart and have no TTY; Interactive ones get a TTY", () => {
  const batch = desired({ session: session("b", SESSIONS.batch!), template: undefined, stubs: {}, platform });
  const inter = desired({ session: session("i", SESSIONS.minimal!), template: undefined, stubs: {}, platform });
  assert.ok(batch.ok && inter.ok);
  assert.equal(batch.objects.pod.spec!.restartPolicy, "Never");
  assert.equal(agentOf(batch.objects.pod).tty, false);
  assert.equal(inter.objects.pod.spec!.restartPolicy, "Always");
  assert.equal(agentOf(inter.objects.pod).tty, true);
});

test("a template violation is returned, not thrown", () => {
  const r = desired({ session: session("v", { templateRef: { name: "claude-code" }, agent: { image: "evil:1" } }), template: TEMPLATES.claudeCode, stubs: {}, platform });
  assert.equal(r.ok, false);
});

test("Vault credentials: the sidecar gets the Vault settings and logs in with its own projected token", () => {
  const s = session("v", SESSIONS.anthropic!);
  const r = desired({ session: s, template: undefined, stubs: ensureStubs({}, s.spec.credentials ?? []), platform });
  assert.ok(r.ok);
  const config = parseSidecarConfig(JSON.parse(Buffer.from(r.objects.sidecarConfig.data!["config.json"]!, "base64").toString()));
  assert.equal(config.vault?.address, "http://vault.vault:8200");
  const auth = config.vault!.auth as { kubernetes: { role: string; tokenFile: string } };
  assert.equal(auth.kubernetes.role, "agentbox");
  const mount = sidecarOf(r.objects.pod).volumeMounts!.find((m) => m.name === "sidecar-token")!;
  assert.equal(auth.kubernetes.tokenFile, `${mount.mountPath}/token`);
});

test("a Vault credential without Vault configured is refused with an actionable message, not a broken pod", () => {
  const s = session("nv", SESSIONS.anthropic!);
  const { vault: _unused, ...noVault } = platform;
  const r = desired({ session: s, template: undefined, stubs: ensureStubs({}, s.spec.credentials ?? []), platform: noVault });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.kind, "credentials");
    assert.match(r.violations[0]!, /AGENTBOX_VAULT_ADDR/);
  }
});

// Issue 14 (ADR 0004): platform rules the operator enforces on the merged spec.
test("egress.allowPrivate outside the platform's bound is refused, template ranges included, with a message", () => {
  const cases: { name: string; spec: Record<string, unknown>; template?: Record<string, unknown>; bound: string[] | undefined; refused: RegExp | undefined }[] = [
    { name: "cloud metadata, default (unset) bound", spec: { agent: { image: "a:1" }, egress: { allowPrivate: ["169.254.169.254/32"] } }, bound: undefined, refused: /169\.254\.169\.254\/32 is outside .*\(none;/ },
    { name: "everything, default bound", spec: { agent: { image: "a:1" }, egress: { allowPrivate: ["0.0.0.0/0"] } }, bound: [], refused: /0\.0\.0\.0\/0 is outside/ },
    { name: "wider than the bound", spec: { agent: { image: "a:1" }, egress: { allowPrivate: ["10.0.0.0/8"] } }, bound: ["10.217.0.1/32"], refused: /10\.0\.0\.0\/8 is outside .*10\.217\.0\.1\/32/ },
    { name: "inside the bound", spec: { agent: { image: "a:1" }, egress: { allowPrivate: ["10.217.0.1/32"] } }, bound: ["10.217.0.0/16"], refused: undefined },
    { name: "from the template", spec: { templateRef: { name: "t" } }, template: { agent: { image: "a:1" }, egress: { allowPrivate: ["192.168.0.0/16"] } }, bound: ["10.0.0.0/8"], refused: /192\.168\.0\.0\/16 is outside/ },
    { name: "no private ranges", spec: { agent: { image: "a:1" } }, bound: undefined, refused: undefined },
  ];
  for (const c of cases) {
    const { allowPrivateBound: _b, ...rest } = platform;
    const r = desired({ session: session("e", c.spec), template: c.template ? template(c.template) : undefined, stubs: {}, platform: { ...rest, ...(c.bound ? { allowPrivateBound: c.bound } : {}) } });
    if (c.refused === undefined) {
      assert.ok(r.ok, c.name);
    } else {
      assert.equal(r.ok, false, c.name);
      if (!r.ok) {
        assert.equal(r.kind, "egress", c.name);
        assert.match(r.violations.join("; "), c.refused, c.name);
      }
    }
  }
});

test("the NetworkPolicy and the sidecar never carry a private range beyond the bound", () => {
  const s = session("np", { agent: { image: "a:1" }, egress: { allowPrivate: ["10.217.0.1/32"] } });
  const r = desired({ session: s, template: undefined, stubs: {}, platform: { ...platform, allowPrivateBound: ["10.217.0.0/16"] } });
  assert.ok(r.ok);
  const blocks = (r.objects.networkPolicy.spec!.egress![0]!.to ?? []).map((p) => p.ipBlock!);
  assert.deepEqual(blocks.filter((b) => !b.except).map((b) => b.cidr), ["10.217.0.1/32"], "the one allowed range, nothing wider");
  for (const b of blocks.filter((x) => x.except)) assert.ok(b.except!.length > 0, `${b.cidr} keeps its private exceptions`);
  const config = JSON.parse(Buffer.from(r.objects.sidecarConfig.data!["config.json"]!, "base64").toString()) as { egress: { allowPrivate: string[] } };
  assert.deepEqual(config.egress.allowPrivate, ["10.217.0.1/32"]);
});

test("requireTemplate: a session's own credentials are refused, its template's are not", () => {
  const strict = { ...platform, requireTemplate: true };
  const own = session("own", SESSIONS.secretRefs!);
  const r = desired({ session: own, template: undefined, stubs: ensureStubs({}, own.spec.credentials ?? []), platform: strict });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.kind, "requireTemplate");
    assert.match(r.violations[0]!, /spec\.credentials openai, github: this platform requires every credential to come from an AgentTemplate/);
  }
  const fromTemplate = session("t", { templateRef: { name: "claude-code" } });
  const merged = desired({ session: fromTemplate, template: TEMPLATES.claudeCode, stubs: ensureStubs({}, TEMPLATES.claudeCode!.credentials ?? []), platform: strict });
  assert.ok(merged.ok, "template credentials are the platform's");
});
