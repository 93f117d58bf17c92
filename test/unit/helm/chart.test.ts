// `helm lint`, `helm template` validated by kubeconform against schemas generated from the
// Kubernetes OpenAPI document of the version the local cluster runs, what the values schema
// must refuse, and what the rendered manifests must say (security context, RBAC, replicas).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { AgentTemplate } from "../../../crds/agenttemplate.js";
import { HELP as OPERATOR_HELP, loadConfig as loadOperatorConfig } from "../../../operator/config.js";
import { parseConfig as parseSessionApiConfig } from "../../../session-api/config.js";
import { findOpenApi, schemasFromCrd, schemasFromOpenApi, writeSchemas } from "./k8s-schemas.js";
import { findTool, run } from "./tools.js";

const root = resolve(import.meta.dirname, "../../..");
const chart = join(root, "helm/agentbox");
const helm = findTool("helm");
const kubeconform = findTool("kubeconform");
const openApi = findOpenApi(root);
const KUBE_VERSION = /k8s\.io\/kubernetes v([0-9.]+)/.exec(readFileSync(join(root, "test/cluster/k8s/go.mod"), "utf8"))?.[1] ?? "1.34.4";

const missing = [
  helm ? "" : "helm (build it: bash test/cluster/build-helm.sh)",
  kubeconform ? "" : "kubeconform (built by the same script)",
  openApi ? "" : "the Kubernetes OpenAPI document (the k8s.io/kubernetes Go module that test/cluster/build-k8s.sh downloads, or AGENTBOX_K8S_OPENAPI)",
].filter(Boolean);
const skip = missing.length > 0 ? `chart tests need ${missing.join(", ")}` : false;
if (skip) console.log(`# SKIP helm chart tests: ${skip}`);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

const VALUE_SETS: Record<string, string[]> = {
  defaults: [],
  everything: [
    "--set", "templates.install=true", "--set", "templates.namespaces={default,team-a}",
    "--set", "vault.enabled=true", "--set", "vault.address=https://vault.vault.svc:8200",
    "--set", "sessions.upstreamCaConfigMap=upstream-ca", "--set", "sessions.extraEgress[0].ports[0].port=8200", "--set", "sessions.extraEgress[0].to[0].namespaceSelector.matchLabels.name=vault",
    "--set", "sessionApi.ingress.enabled=true", "--set", "sessionApi.ingress.className=nginx", "--set", "sessionApi.ingress.tls.enabled=true", "--set", "sessionApi.ingress.tls.secretName=agentbox-tls",
    "--set", "sessionApi.auth.oidc.enabled=true", "--set", "sessionApi.auth.oidc.issuerUrl=https://idp.example.com", "--set", "sessionApi.auth.oidc.audience=agentbox",
    "--set", "sessionApi.auth.staticTokens.enabled=true", "--set", "sessionApi.auth.staticTokens.secretName=dev-tokens",
    "--set", "serviceMonitor.enabled=true", "--set", "networkPolicy.apiServer.cidrs={10.96.0.1/32}",
    "--set", "networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=ingress",
    "--set", "operator.watchNamespace=team-a", "--set", "sessionApi.allowedOrigins={https://agents.example.com}",
    "--set", "credentials.requireTemplate=true", "--set", "egress.allowPrivateBound={10.217.0.1/32,fd00::/8}",
  ],
  minimal: [
    "--set", "operator.replicas=1", "--set", "operator.leaderElection.enabled=false", "--set", "operator.pdb.enabled=false",
    "--set", "sessionApi.pdb.enabled=false", "--set", "networkPolicy.enabled=false", "--set", "rbac.agentRoles=false",
    "--set", "sessionApi.service.type=NodePort", "--set", "sessionApi.service.nodePort=30080",
    "--set", "admission.enabled=false",
  ],
};

function template(values: string[], release = "agentbox"): { status: number; objects: Obj[]; yaml: string; stderr: string } {
  const r = run(helm!, ["template", release, chart, "-n", "agentbox-system", "--kube-version", KUBE_VERSION, "--include-crds", ...values]);
  const objects = r.status === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null) : [];
  return { status: r.status, objects, yaml: r.stdout, stderr: r.stderr };
}

describe("helm chart", { skip }, () => {
  let schemaDir = "";
  const rendered: Record<string, Obj[]> = {};

  before(async () => {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      const t = template(values);
      assert.equal(t.status, 0, `helm template (${name}) failed:\n${t.stderr}`);
      rendered[name] = t.objects;
    }
    schemaDir = await mkdtemp(join(tmpdir(), "agentbox-schemas-"));
    const all = Object.values(rendered).flat();
    const wanted = all.map((o) => {
      const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
      return { group: group!, version: version!, kind: o.kind };
    });
    await writeSchemas(schemaDir, schemasFromOpenApi(JSON.parse(readFileSync(openApi!, "utf8")), wanted));
    for (const crd of ["agentbox.dev_agentsessions.yaml", "agentbox.dev_agenttemplates.yaml"]) {
      await writeSchemas(schemaDir, schemasFromCrd(readFileSync(join(chart, "crds", crd), "utf8")));
    }
  });
  after(async () => {
    if (schemaDir) await rm(schemaDir, { recursive: true, force: true });
  });

  const validate = (yaml: string): ReturnType<typeof run> =>
    run(kubeconform!, ["-strict", "-summary", "-skip", "ServiceMonitor", "-schema-location", `${schemaDir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, "-"], yaml);

  test("helm lint passes with default and with all options", () => {
    for (const name of ["defaults", "everything"]) {
      const r = run(helm!, ["lint", chart, "--strict", "--kube-version", KUBE_VERSION, ...VALUE_SETS[name]!]);
      assert.equal(r.status, 0, `${name}:\n${r.stdout}${r.stderr}`);
    }
  });

  for (const name of Object.keys(VALUE_SETS)) {
    test(`rendered manifests (${name}) are valid against the Kubernetes ${KUBE_VERSION} schemas`, () => {
      const yaml = rendered[name]!.map((o) => JSON.stringify(o)).join("\n---\n");
      const r = validate(yaml);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      const summary = /(\d+) resources found.*Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/.exec(r.stdout);
      assert.ok(summary, r.stdout);
      const expectedSkipped = rendered[name]!.filter((o) => o.kind === "ServiceMonitor").length;
      assert.equal(Number(summary[2]), rendered[name]!.length - expectedSkipped, "every non-skipped object was validated");
      assert.equal(Number(summary[5]), expectedSkipped);
    });
  }

  test("the validator is not vacuous: it refuses broken manifests", () => {
    const deployment = rendered.defaults!.find((o) => o.kind === "Deployment")!;
    const broken: [string, unknown][] = [
      ["replicas as a word", { ...deployment, spec: { ...(deployment.spec as object), replicas: "two" } }],
      ["an unknown field", { ...deployment, spec: { ...(deployment.spec as object), replica: 2 } }],
      ["an AgentTemplate with an unknown mode", { apiVersion: "agentbox.dev/v1alpha1", kind: "AgentTemplate", metadata: { name: "x" }, spec: { lifecycle: { mode: "Forever" } } }],
    ];
    for (const [name, obj] of broken) assert.notEqual(validate(JSON.stringify(obj)).status, 0, name);
  });

  const operatorContainer = (set: string): any =>
    (rendered[set]!.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-operator")) as any).spec.template.spec.containers[0];

  test("operator: two replicas with leader election, the platform image, IfNotPresent, flags it accepts", () => {
    const op = rendered.defaults!.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-operator")) as any;
    assert.equal(op.spec.replicas, 2);
    const c = operatorContainer("defaults");
    assert.deepEqual(c.args, ["--leader-elect=true", "--metrics-port=8080"]);
    assert.deepEqual(operatorContainer("minimal").args, ["--leader-elect=false", "--metrics-port=8080"]);
    assert.deepEqual(operatorContainer("everything").args, ["--leader-elect=true", "--metrics-port=8080", "--namespace=team-a"]);
    assert.deepEqual(c.command, ["node", "/app/dist/operator/main.js"]);
    assert.equal(c.image, "agentbox/platform:dev");
    assert.equal(c.imagePullPolicy, "IfNotPresent");
    assert.ok(c.env.some((e: any) => e.name === "AGENTBOX_PLATFORM_IMAGE" && e.value === "agentbox/platform:dev"));
    const api = rendered.defaults!.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-session-api")) as any;
    assert.deepEqual(api.spec.template.spec.containers[0].command, ["node", "/app/dist/session-api/main.js"]);
  });

  test("vault and session settings reach the operator's environment", () => {
    const env = (set: string): Record<string, string> => Object.fromEntries(operatorContainer(set).env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));
    const all = env("everything");
    assert.equal(all.AGENTBOX_VAULT_ADDR, "https://vault.vault.svc:8200");
    assert.equal(all.AGENTBOX_VAULT_ROLE, "agentbox-sidecar");
    assert.equal(all.AGENTBOX_TOKEN_AUDIENCE, "vault");
    assert.equal(all.AGENTBOX_UPSTREAM_CA_CONFIGMAP, "upstream-ca");
    assert.deepEqual(JSON.parse(all.AGENTBOX_EXTRA_EGRESS!), [{ ports: [{ port: 8200 }], to: [{ namespaceSelector: { matchLabels: { name: "vault" } } }] }]);
    assert.equal(all.AGENTBOX_REQUIRE_TEMPLATE, "true");
    assert.deepEqual(JSON.parse(all.AGENTBOX_ALLOW_PRIVATE_BOUND!), ["10.217.0.1/32", "fd00::/8"]);
    const defaults = env("defaults");
    assert.ok(!Object.keys(defaults).some((k) => k.startsWith("AGENTBOX_VAULT_") || k === "AGENTBOX_EXTRA_EGRESS"));
    assert.equal(defaults.AGENTBOX_REQUIRE_TEMPLATE, "false");
    assert.equal(defaults.AGENTBOX_ALLOW_PRIVATE_BOUND, "[]", "no private range unless the platform allows one");
    assert.equal(defaults.AGENTBOX_SESSION_SERVICE_ACCOUNT, "default");
  });

  test("the operator's and the session API's own configuration parsers accept what the chart passes", () => {
    for (const set of Object.keys(VALUE_SETS)) {
      const op = operatorContainer(set);
      const env = Object.fromEntries(op.env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));
      const known = new Set(Object.keys(env).filter((k) => k.startsWith("AGENTBOX_") && OPERATOR_HELP.includes(`Env ${k}`)));
      assert.deepEqual(Object.keys(env).filter((k) => k.startsWith("AGENTBOX_") && !known.has(k)), [], `${set}: variables the operator does not read`);
      assert.doesNotThrow(() => loadOperatorConfig({ ...env, POD_NAME: "p", POD_NAMESPACE: "agentbox-system" }, op.args), `${set}: operator`);
      const api = (rendered[set]!.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-session-api")) as any).spec.template.spec.containers[0];
      const parsed = parseSessionApiConfig(api.args, {});
      assert.equal(parsed.help, false);
    }
    const everything = parseSessionApiConfig((rendered.everything!.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-session-api")) as any).spec.template.spec.containers[0].args, {});
    assert.ok(!everything.help && everything.config.oidc?.issuer === "https://idp.example.com" && everything.config.authKubernetes);
    assert.ok(!everything.help && everything.config.allowedOrigins.includes("https://agentbox.example.com"), "the Ingress host is an allowed origin");
  });

  test("every platform container is non-root, read-only, without capabilities or escalation", () => {
    for (const set of Object.keys(VALUE_SETS)) {
      for (const d of rendered[set]!.filter((o) => o.kind === "Deployment") as any[]) {
        const pod = d.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true, d.metadata.name);
        for (const c of pod.containers) {
          assert.equal(c.securityContext.allowPrivilegeEscalation, false);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true);
          assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
          assert.equal(c.securityContext.seccompProfile.type, "RuntimeDefault");
        }
      }
    }
  });

  test("RBAC is least privilege: no wildcards, no secrets for the session API, no exec for the operator", () => {
    const roles = rendered.defaults!.filter((o) => o.kind === "ClusterRole" || o.kind === "Role") as any[];
    for (const role of roles) {
      for (const rule of role.rules) {
        for (const field of ["apiGroups", "resources", "verbs"]) assert.ok(!rule[field].includes("*"), `${role.metadata.name} has a wildcard in ${field}`);
      }
    }
    const grants = (name: string, resource: string): string[] =>
      roles.filter((r) => r.metadata.name.endsWith(name)).flatMap((r) => r.rules.filter((x: any) => x.resources.includes(resource)).flatMap((x: any) => x.verbs));
    assert.deepEqual(grants("-operator", "pods/exec"), []);
    assert.deepEqual(grants("-operator", "agentsessions/status").sort(), ["patch", "update"]);
    assert.ok(!grants("-operator", "agentsessions").includes("update"), "the operator never writes a session's spec");
    assert.deepEqual(grants("-operator-leader-election", "leases").sort(), ["create", "get", "list", "patch", "update", "watch"]);
    assert.deepEqual(grants("-session-api", "secrets"), []);
    assert.deepEqual(grants("-session-api", "tokenreviews"), ["create"]);
    assert.deepEqual(grants("-session-api", "subjectaccessreviews"), ["create"]);
    assert.deepEqual(grants("agentbox-agent-user", "agentsessions/terminal").sort(), ["create", "get"]);
    assert.deepEqual(grants("agentbox-agent-viewer", "agentsessions/terminal"), ["get"]);
    assert.deepEqual(grants("agentbox-agent-viewer", "agentsessions").sort(), ["get", "list", "watch"]);
    const lease = roles.find((r) => r.kind === "Role");
    assert.equal(lease.metadata.namespace, "agentbox-system", "leases only in the release namespace");
  });

  // Issue 14 (ADR 0004): who may write which session is decided at admission, as the requester.
  const policyOf = (set: string): any => rendered[set]!.find((o) => o.kind === "ValidatingAdmissionPolicy");
  const bindingOf = (set: string): any => rendered[set]!.find((o) => o.kind === "ValidatingAdmissionPolicyBinding");

  test("admission: a ValidatingAdmissionPolicy on AgentSession writes (not /status), bound with Deny, confined to the watched namespace", () => {
    const policy = policyOf("defaults");
    assert.ok(policy, "the chart ships the session-authorization policy");
    assert.equal(policy.apiVersion, "admissionregistration.k8s.io/v1");
    assert.equal(policy.spec.failurePolicy, "Fail");
    assert.deepEqual(policy.spec.matchConstraints.resourceRules, [{ apiGroups: ["agentbox.dev"], apiVersions: ["*"], operations: ["CREATE", "UPDATE"], resources: ["agentsessions"] }], "status writes (agentsessions/status) are not matched");
    const binding = bindingOf("defaults");
    assert.equal(binding.spec.policyName, policy.metadata.name);
    assert.deepEqual(binding.spec.validationActions, ["Deny"]);
    assert.equal(binding.spec.matchResources, undefined, "all namespaces when the operator watches all");
    assert.deepEqual(bindingOf("everything").spec.matchResources, { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "team-a" } } });
    assert.equal(policyOf("minimal"), undefined, "admission.enabled=false leaves it out");
    assert.equal(bindingOf("minimal"), undefined);
  });

  test("admission: the rules ask the authorizer about the requester, per own credential; platform settings are rendered into the CEL", () => {
    const text = (set: string): string => JSON.stringify(policyOf(set).spec);
    const validations = (set: string): any[] => policyOf(set).spec.validations;
    const all = text("defaults");
    assert.match(all, /request\.userInfo\.username/);
    assert.match(all, /agentbox\.dev\/created-by/);
    assert.match(all, /check\('admin'\)/, "platform admins are asked of the authorizer, not read from the object");
    const perCredential = validations("defaults").filter((v) => /resource\('secrets'\)/.test(v.expression));
    assert.equal(perCredential.length, 16, "one validation per own credential (an expression may make two authorizer checks)");
    for (const [i, v] of perCredential.entries()) {
      assert.match(v.expression, new RegExp(`credentials\\[${i}\\]\\.source\\.secretKeyRef\\.name\\)\\.check\\('get'\\)`));
      assert.match(v.expression, new RegExp(`resource\\('vaultpaths'\\).*credentials\\[${i}\\]\\.source\\.vault\\.path\\)\\.check\\('use'\\)`));
      assert.doesNotMatch(v.messageExpression, /authorizer/, "the message makes no second check");
    }
    assert.ok(validations("defaults").some((v) => /size\(variables\.credentials\) <= 16/.test(v.expression)), "more own credentials than checks are refused");
    assert.ok(validations("defaults").some((v) => /inject\.body/.test(v.expression)), "inject.body only from templates");
    assert.ok(!validations("defaults").some((v) => /size\(variables\.credentials\) == 0/.test(v.expression)), "requireTemplate is off by default");
    assert.ok(validations("everything").some((v) => /size\(variables\.credentials\) == 0/.test(v.expression)), "requireTemplate=true refuses own credentials");
    const bound = (set: string): unknown => JSON.parse(policyOf(set).spec.variables.find((v: any) => v.name === "bound").expression);
    assert.deepEqual(bound("defaults"), []);
    assert.deepEqual(bound("everything"), ["10.217.0.1/32", "fd00::/8"]);
    assert.match(all, /cidr\(b\)\.containsCIDR\(cidr\(r\)\)/);
  });

  test("RBAC: only the platform-admin role grants the admin verb; no role grants Vault paths", () => {
    const roles = rendered.defaults!.filter((o) => o.kind === "ClusterRole") as any[];
    const verbs = (name: string, resource: string): string[] => roles.filter((r) => r.metadata.name === name).flatMap((r) => r.rules.filter((x: any) => x.resources.includes(resource)).flatMap((x: any) => x.verbs));
    assert.ok(verbs("agentbox-platform-admin", "agentsessions").includes("admin"));
    assert.ok(!verbs("agentbox-agent-user", "agentsessions").includes("admin"), "agent users may not act for others");
    assert.ok(!verbs("agentbox-agent-user", "secrets").length, "agent users may not read Secrets");
    for (const role of roles) {
      assert.ok(!role.rules.some((x: any) => x.resources.includes("vaultpaths")), `${role.metadata.name} grants no Vault path`);
      if (role.metadata.name !== "agentbox-platform-admin") assert.ok(!role.rules.some((x: any) => x.verbs.includes("admin")), `${role.metadata.name} grants no admin`);
    }
  });

  test("two releases share no cluster-scoped object but the CRDs; the agent roles are found by label", () => {
    const clusterScoped = (objects: Obj[]): string[] =>
      objects.filter((o) => o.kind.startsWith("Cluster") || o.kind.startsWith("ValidatingAdmissionPolicy")).map((o) => `${o.kind}/${o.metadata.name}`);
    const other = template([], "team-x");
    assert.equal(other.status, 0, other.stderr);
    const mine = clusterScoped(rendered.defaults!);
    assert.deepEqual(clusterScoped(other.objects).filter((n) => mine.includes(n)), []);
    const role = (objects: Obj[], label: string): string[] =>
      objects.filter((o: any) => o.kind === "ClusterRole" && o.metadata.labels?.["agentbox.dev/role"] === label).map((o) => o.metadata.name);
    assert.deepEqual(role(rendered.defaults!, "agent-user"), ["agentbox-agent-user"], "the documented name for a release called agentbox");
    assert.deepEqual(role(rendered.defaults!, "agent-viewer"), ["agentbox-agent-viewer"]);
    assert.deepEqual(role(rendered.defaults!, "platform-admin"), ["agentbox-platform-admin"]);
    assert.deepEqual(role(other.objects, "agent-user"), ["team-x-agentbox-agent-user"]);
  });

  test("PDBs, NetworkPolicies and ServiceMonitor follow their switches", () => {
    const count = (set: string, kind: string): number => rendered[set]!.filter((o) => o.kind === kind).length;
    assert.equal(count("defaults", "PodDisruptionBudget"), 2);
    assert.equal(count("minimal", "PodDisruptionBudget"), 0);
    assert.equal(count("defaults", "NetworkPolicy"), 2);
    assert.equal(count("minimal", "NetworkPolicy"), 0);
    assert.equal(count("defaults", "ServiceMonitor"), 0);
    assert.equal(count("everything", "ServiceMonitor"), 1);
    assert.equal(count("everything", "Ingress"), 1);
    assert.equal(count("minimal", "ClusterRole"), 2, "only the components' roles without rbac.agentRoles");
    assert.equal(count("defaults", "CustomResourceDefinition"), 2);
    const service = (set: string): any => rendered[set]!.find((o) => o.kind === "Service" && o.metadata.name.endsWith("-session-api"));
    assert.deepEqual([service("minimal").spec.type, service("minimal").spec.ports[0].nodePort], ["NodePort", 30080]);
    assert.equal(service("defaults").spec.ports[0].nodePort, undefined);
  });

  test("templates.install renders the example AgentTemplates, valid against the API schema, in each namespace", () => {
    const templates = rendered.everything!.filter((o) => o.kind === "AgentTemplate");
    assert.deepEqual(templates.map((t) => `${t.metadata.namespace}/${t.metadata.name}`).sort(), [
      "default/claude-code", "default/codex", "default/shell", "default/shell-batch",
      "team-a/claude-code", "team-a/codex", "team-a/shell", "team-a/shell-batch",
    ]);
    for (const t of templates) {
      const parsed = AgentTemplate.safeParse(t);
      assert.ok(parsed.success, `${t.metadata.name}: ${parsed.success ? "" : parsed.error.message}`);
    }
    assert.equal(rendered.defaults!.filter((o) => o.kind === "AgentTemplate").length, 0);
  });

  test("the values schema refuses mistakes with a message naming the key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agentbox-values-"));
    const cases: [string, string, RegExp][] = [
      ["unknown top-level key", "replicas: 3\n", /replicas/],
      ["typo in a nested key", "operator:\n  replica: 3\n", /replica/],
      ["latest tag", "image:\n  tag: latest\n", /tag/],
      ["bad pull policy", "image:\n  pullPolicy: Sometimes\n", /pullPolicy/],
      ["two operators without leader election", "operator:\n  replicas: 2\n  leaderElection:\n    enabled: false\n", /enabled/],
      ["OIDC without an https issuer", "sessionApi:\n  auth:\n    oidc:\n      enabled: true\n      issuerUrl: http://idp\n      audience: a\n", /issuerUrl/],
      ["vault without an address", "vault:\n  enabled: true\n", /address/],
      ["bad log level", "operator:\n  logLevel: loud\n", /logLevel/],
      ["fatal is not an operator log level", "operator:\n  logLevel: fatal\n", /logLevel/],
      ["two watched namespaces", "operator:\n  watchNamespace: [a, b]\n", /watchNamespace/],
      ["privileged port", "sessionApi:\n  port: 80\n", /port/],
      ["node port out of range", "sessionApi:\n  service:\n    nodePort: 8080\n", /nodePort/],
      ["bad origin", "sessionApi:\n  allowedOrigins: [\"agents.example.com/path\"]\n", /allowedOrigins/],
      ["bad template namespace", "templates:\n  namespaces: [Team_A]\n", /namespaces/],
      ["a private bound that is not a CIDR", "egress:\n  allowPrivateBound: [\"10.0.0.1\"]\n", /allowPrivateBound/],
      ["requireTemplate as a word", "credentials:\n  requireTemplate: yes please\n", /requireTemplate/],
      ["no way to sign in", "sessionApi:\n  auth:\n    kubernetes:\n      enabled: false\n", /enable at least one of kubernetes, oidc and staticTokens/],
    ];
    try {
      for (const [name, values, message] of cases) {
        const file = join(dir, `${name.replace(/\W+/g, "-")}.yaml`);
        await writeFile(file, values);
        const t = template(["-f", file]);
        assert.notEqual(t.status, 0, `${name} was accepted`);
        assert.match(t.stderr, message, name);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
