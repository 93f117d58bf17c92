import { createHash } from "node:crypto";
import type {
  V1Container,
  V1EnvVar,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { API_VERSION, type AgentSession } from "../crds/agentsession.js";
import type { AgentTemplateSpec } from "../crds/agenttemplate.js";
import { mergeTemplate, type EffectiveSpec } from "../crds/merge.js";
import type { SidecarConfigInput } from "../sidecar/config.js";
import { captureCommand, DEFAULT_CAPTURE } from "../sidecar/capture.js";
import { SIDECAR_NODE_FLAGS } from "../sidecar/node-flags.js";
import { MANAGED_BY, MANAGER, names, POD_LABEL, SESSION_LABEL, SPEC_HASH } from "./names.js";
import { egressRefusal, outsideBound } from "./egress-bound.js";
import { credentialVolume } from "./secret-refs.js";

/** Cluster-wide settings the operator was started with; see operator/config.ts. */
export interface PlatformOptions {
  /** The platform image holding the sidecar and capture entry points. */
  image: string;
  /** Service account whose projected, audience-scoped token the sidecar (only) receives. */
  serviceAccountName: string;
  tokenAudience: string;
  vault?: { address: string; role: string; mount: string };
  /** Extra NetworkPolicy egress rules every session pod needs, e.g. to reach Vault. */
  extraEgress: V1NetworkPolicyEgressRule[];
  /** A ConfigMap (key ca.crt) of extra roots the sidecar trusts upstream; tests and private upstreams. */
  upstreamCaConfigMap?: string;
  /**
   * The only private CIDR blocks a session's egress.allowPrivate may open (ADR 0004); unset means
   * none. A spec asking for more is refused, and the NetworkPolicy never carries more.
   */
  allowPrivateBound?: readonly string[];
  /** Every credential must come from the template: a session's own spec.credentials is refused. */
  requireTemplate?: boolean;
}

export const SIDECAR_UID = 1337;
export const DEFAULT_AGENT_UID = 1000;
export const PROXY_URL = "http://127.0.0.1:15001";
export const CA_DIR = "/var/run/agentbox/ca";
export const CA_FILE = `${CA_DIR}/ca.crt`;
export const SIDECAR_CONFIG_DIR = "/etc/agentbox/sidecar";
export const SECRETS_DIR = "/var/run/agentbox/secrets";
/** Where the sidecar's projected token lands; the sidecar's Vault login reads `${TOKEN_DIR}/token`. */
export const TOKEN_DIR = "/var/run/secrets/agentbox/vault";
export const UPSTREAM_CA_DIR = "/etc/agentbox/upstream-ca";
export const ADMIN_PORT = 15021;
const DEFAULT_MOUNT = "/workspace";

/** Address blocks the NetworkPolicy keeps the pod away from unless the session allows them. */
export const PRIVATE_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8", "0.0.0.0/8"];
export const PRIVATE_V6 = ["fc00::/7", "fe80::/10", "::1/128"];

export interface DesiredObjects {
  spec: EffectiveSpec;
  stubSecret: V1Secret;
  sidecarConfig: V1Secret;
  networkPolicy: V1NetworkPolicy;
  workspace?: V1PersistentVolumeClaim;
  pod: V1Pod;
}

/**
 * A refusal: `template` when the session breaks its template's rules, `credentials` when a
 * credential cannot be wired, `requireTemplate` when the platform requires credentials to come
 * from templates and the session carries its own, `egress` when allowPrivate leaves the bound.
 */
export type DesiredResult = { ok: true; objects: DesiredObjects } | { ok: false; violations: string[]; kind: "template" | "credentials" | "requireTemplate" | "egress" };

export interface DesiredInput {
  session: AgentSession;
  template: AgentTemplateSpec | undefined;
  /** Credential name → stub, generated once at the edge (see stubs.ts) and kept in the stub Secret. */
  stubs: Readonly<Record<string, string>>;
  platform: PlatformOptions;
  /**
   * A pod that was started from a warm pool before the session existed (see warm-pool.ts): the
   * pod and the objects it mounts are named after it, not after the session, and the
   * NetworkPolicy selects it by its `agentbox.dev/pod` label, which it carried while warm.
   */
  podName?: string;
}

/**
 * Everything a session should own, as a pure function of its spec, its template, its stubs and
 * the platform options: the same input gives the same objects, byte for byte. No real secret
 * value is an input, so none can be in the output.
 */
export function desired(input: DesiredInput): DesiredResult {
  const merged = mergeTemplate(input.session.spec, input.template, input.session.spec.templateRef?.name);
  if (!merged.ok) return { ...merged, kind: "template" };
  const spec = merged.spec;
  const own = input.session.spec.credentials ?? [];
  if (input.platform.requireTemplate && own.length > 0) {
    return { ok: false, violations: [`spec.credentials ${own.map((c) => c.name).join(", ")}: this platform requires every credential to come from an AgentTemplate (chart value credentials.requireTemplate, env AGENTBOX_REQUIRE_TEMPLATE); remove spec.credentials and name a template that provides them`], kind: "requireTemplate" };
  }
  const bound = input.platform.allowPrivateBound ?? [];
  const outside = outsideBound(spec.egress?.allowPrivate ?? [], bound);
  if (outside.length > 0) return { ok: false, violations: [egressRefusal(outside, bound)], kind: "egress" };
  const needVault = (spec.credentials ?? []).filter((c) => c.source.vault).map((c) => c.name);
  if (needVault.length > 0 && !input.platform.vault) {
    return { ok: false, violations: [`credentials ${needVault.join(", ")} read from Vault, but the operator has no Vault address configured (AGENTBOX_VAULT_ADDR); use secretKeyRef or ask the platform team to configure Vault`], kind: "credentials" };
  }
  for (const c of spec.credentials ?? []) {
    if (!input.stubs[c.name]) throw new Error(`bug: no stub generated for credential ${c.name} of session ${input.session.metadata.name}`);
  }
  const ctx: Ctx = { ...input, spec, n: names(input.podName ?? input.session.metadata.name), meta: childMeta(input.session) };
  const sidecarConfig = sidecarConfigSecret(ctx);
  const pod = buildPod(ctx, sidecarConfig);
  return {
    ok: true,
    objects: {
      spec,
      stubSecret: stubSecret(ctx),
      sidecarConfig,
      networkPolicy: networkPolicy(ctx),
      ...(spec.workspace?.storage ? { workspace: workspaceClaim(ctx, spec.workspace.storage) } : {}),
      pod,
    },
  };
}

interface Ctx extends DesiredInput {
  spec: EffectiveSpec;
  n: ReturnType<typeof names>;
  meta: (name: string) => { name: string; namespace: string; labels: Record<string, string>; ownerReferences: V1OwnerReference[] };
}

function childMeta(session: AgentSession): Ctx["meta"] {
  const { name, namespace = "default", uid = "" } = session.metadata;
  return (child) => ({
    name: child,
    namespace,
    labels: { [MANAGED_BY]: MANAGER, [SESSION_LABEL]: name },
    ownerReferences: [{ apiVersion: API_VERSION, kind: "AgentSession", name, uid, controller: true, blockOwnerDeletion: true }],
  });
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

function stubSecret(ctx: Ctx): V1Secret {
  const data: Record<string, string> = {};
  for (const c of ctx.spec.credentials ?? []) data[c.name] = b64(ctx.stubs[c.name]!);
  return { apiVersion: "v1", kind: "Secret", metadata: ctx.meta(ctx.n.stubs), type: "Opaque", data };
}

/** The sidecar's config.json: bindings and egress list with stubs inline, sources by reference. */
export function sidecarConfigFor(ctx: Pick<Ctx, "spec" | "stubs" | "platform">): SidecarConfigInput {
  const config: SidecarConfigInput = {
    egress: { allow: ctx.spec.egress?.allow ?? [], allowPrivate: privateWithinBound(ctx) },
    credentials: (ctx.spec.credentials ?? []).map((c) => ({
      name: c.name,
      stub: ctx.stubs[c.name]!,
      hosts: c.hosts,
      inject: { headers: c.inject.headers, body: c.inject.body },
      source: c.source.vault
        ? { vault: { path: c.source.vault.path, key: c.source.vault.key } }
        : { file: { path: `${SECRETS_DIR}/${c.name}/${c.source.secretKeyRef!.key}` } },
    })),
    caDir: CA_DIR,
  };
  if (ctx.platform.vault && (ctx.spec.credentials ?? []).some((c) => c.source.vault)) {
    config.vault = {
      address: ctx.platform.vault.address,
      auth: { kubernetes: { role: ctx.platform.vault.role, mount: ctx.platform.vault.mount, tokenFile: `${TOKEN_DIR}/token` } },
    };
  }
  if (ctx.platform.upstreamCaConfigMap) config.upstreamCaFile = `${UPSTREAM_CA_DIR}/ca.crt`;
  return config;
}

function sidecarConfigSecret(ctx: Ctx): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ctx.meta(ctx.n.sidecarConfig),
    type: "Opaque",
    data: { "config.json": b64(`${JSON.stringify(sidecarConfigFor(ctx), null, 2)}\n`) },
  };
}

/**
 * The session's private ranges that lie inside the platform's bound. desired() already refuses a
 * spec with others; this keeps the pod's objects from ever carrying one, whoever calls the builders.
 */
function privateWithinBound(ctx: Pick<Ctx, "spec" | "platform">): string[] {
  const ranges = ctx.spec.egress?.allowPrivate ?? [];
  const outside = new Set(outsideBound(ranges, ctx.platform.allowPrivateBound ?? []));
  return ranges.filter((r) => !outside.has(r));
}

function networkPolicy(ctx: Ctx): V1NetworkPolicy {
  const allowed = new Set(privateWithinBound(ctx));
  const except = (blocks: string[]): string[] => blocks.filter((b) => !allowed.has(b));
  const egress: V1NetworkPolicyEgressRule[] = [
    {
      to: [
        { ipBlock: { cidr: "0.0.0.0/0", except: except(PRIVATE_V4) } },
        { ipBlock: { cidr: "::/0", except: except(PRIVATE_V6) } },
        ...[...allowed].map((cidr) => ({ ipBlock: { cidr } })),
      ],
    },
    {
      to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
      ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
    },
    ...ctx.platform.extraEgress,
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: ctx.meta(ctx.n.networkPolicy),
    spec: { podSelector: { matchLabels: podSelector(ctx) }, policyTypes: ["Ingress", "Egress"], ingress: [], egress },
  };
}

const podSelector = (ctx: Ctx): Record<string, string> => (ctx.podName ? { [POD_LABEL]: ctx.podName } : { [SESSION_LABEL]: ctx.session.metadata.name });

function workspaceClaim(ctx: Ctx, storage: NonNullable<NonNullable<EffectiveSpec["workspace"]>["storage"]>): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: ctx.meta(ctx.n.workspace),
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: storage.size } },
      ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
    },
  };
}

const dropAll = { drop: ["ALL"] };
const runtimeDefault = { type: "RuntimeDefault" };

function captureContainer(ctx: Ctx): V1Container {
  return {
    name: "egress-capture",
    image: ctx.platform.image,
    imagePullPolicy: "IfNotPresent",
    command: captureCommand(DEFAULT_CAPTURE),
    // iptables needs root with NET_ADMIN (rules) and NET_RAW (its raw socket probe); nothing else.
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] },
      seccompProfile: runtimeDefault,
    },
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
  };
}

function sidecarContainer(ctx: Ctx): V1Container {
  const mounts: V1VolumeMount[] = [
    { name: "sidecar-config", mountPath: SIDECAR_CONFIG_DIR, readOnly: true },
    { name: "ca", mountPath: CA_DIR },
    { name: "sidecar-token", mountPath: TOKEN_DIR, readOnly: true },
  ];
  for (const c of ctx.spec.credentials ?? []) {
    if (c.source.secretKeyRef) mounts.push({ name: credentialVolume(c.name), mountPath: `${SECRETS_DIR}/${c.name}`, readOnly: true });
  }
  if (ctx.platform.upstreamCaConfigMap) mounts.push({ name: "upstream-ca", mountPath: UPSTREAM_CA_DIR, readOnly: true });
  const probe = (path: string, failureThreshold: number): V1Container["startupProbe"] => ({
    httpGet: { path, port: ADMIN_PORT },
    periodSeconds: 1,
    failureThreshold,
    timeoutSeconds: 1,
  });
  return {
    name: "sidecar",
    image: ctx.platform.image,
    imagePullPolicy: "IfNotPresent",
    command: ["node", ...SIDECAR_NODE_FLAGS, "/app/dist/sidecar/main.js", "--config", `${SIDECAR_CONFIG_DIR}/config.json`],
    // A native sidecar: started, and started-up, before the agent; stopped after it.
    restartPolicy: "Always",
    ports: [
      { name: "proxy", containerPort: 15001 },
      { name: "admin", containerPort: ADMIN_PORT },
    ],
    startupProbe: probe("/readyz", 120),
    readinessProbe: { ...probe("/readyz", 3), periodSeconds: 5 },
    // Generous: a liveness timeout on a busy node restarts a healthy sidecar and cuts every
    // connection of the agent.
    livenessProbe: { ...probe("/healthz", 6), periodSeconds: 10, timeoutSeconds: 5 },
    securityContext: {
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: dropAll,
      seccompProfile: runtimeDefault,
    },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    volumeMounts: mounts,
  };
}

function agentEnv(ctx: Ctx): V1EnvVar[] {
  const env: V1EnvVar[] = (ctx.spec.agent.env ?? []).map((e) => ({ name: e.name, value: e.value }));
  for (const c of ctx.spec.credentials ?? []) {
    env.push({ name: c.env, valueFrom: { secretKeyRef: { name: ctx.n.stubs, key: c.name } } });
  }
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) env.push({ name, value: PROXY_URL });
  for (const name of ["NO_PROXY", "no_proxy"]) env.push({ name, value: "localhost,127.0.0.1,::1" });
  for (const name of ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"]) env.push({ name, value: CA_FILE });
  return env;
}

function agentContainer(ctx: Ctx): V1Container {
  const a = ctx.spec.agent;
  const interactive = (ctx.spec.lifecycle?.mode ?? "Interactive") === "Interactive";
  const tty = a.tty ?? interactive;
  const uid = a.runAsUser ?? DEFAULT_AGENT_UID;
  const mountPath = ctx.spec.workspace?.mountPath ?? DEFAULT_MOUNT;
  return {
    name: "agent",
    image: a.image,
    imagePullPolicy: "IfNotPresent",
    ...(a.command ? { command: a.command } : {}),
    ...(a.args ? { args: a.args } : {}),
    workingDir: a.workingDir ?? mountPath,
    env: agentEnv(ctx),
    stdin: tty,
    tty,
    securityContext: {
      runAsUser: uid,
      runAsGroup: uid,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: dropAll,
      seccompProfile: runtimeDefault,
    },
    ...(a.resources ? { resources: a.resources } : {}),
    volumeMounts: [
      { name: "workspace", mountPath },
      { name: "ca", mountPath: CA_DIR, readOnly: true },
    ],
  };
}

function volumes(ctx: Ctx): V1Volume[] {
  const v: V1Volume[] = [
    ctx.spec.workspace?.storage ? { name: "workspace", persistentVolumeClaim: { claimName: ctx.n.workspace } } : { name: "workspace", emptyDir: {} },
    { name: "ca", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    { name: "sidecar-config", secret: { secretName: ctx.n.sidecarConfig, defaultMode: 0o440 } },
    {
      name: "sidecar-token",
      projected: {
        defaultMode: 0o440,
        sources: [{ serviceAccountToken: { audience: ctx.platform.tokenAudience, expirationSeconds: 3600, path: "token" } }],
      },
    },
  ];
  for (const c of ctx.spec.credentials ?? []) {
    const ref = c.source.secretKeyRef;
    if (ref) v.push({ name: credentialVolume(c.name), secret: { secretName: ref.name, items: [{ key: ref.key, path: ref.key }], defaultMode: 0o440 } });
  }
  if (ctx.platform.upstreamCaConfigMap) v.push({ name: "upstream-ca", configMap: { name: ctx.platform.upstreamCaConfigMap } });
  return v;
}

function buildPod(ctx: Ctx, sidecarConfig: V1Secret): V1Pod {
  const batch = ctx.spec.lifecycle?.mode === "Batch";
  const uid = ctx.spec.agent.runAsUser ?? DEFAULT_AGENT_UID;
  const pod: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: ctx.meta(ctx.n.pod),
    spec: {
      serviceAccountName: ctx.platform.serviceAccountName,
      automountServiceAccountToken: false,
      shareProcessNamespace: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      restartPolicy: batch ? "Never" : "Always",
      ...(ctx.spec.isolation?.runtimeClassName ? { runtimeClassName: ctx.spec.isolation.runtimeClassName } : {}),
      ...(ctx.spec.isolation?.nodeSelector ? { nodeSelector: ctx.spec.isolation.nodeSelector } : {}),
      // fsGroup makes the workspace writable by the agent and the 0440 secret and token files
      // readable by the sidecar (every container gets fsGroup as a supplementary group); the
      // agent still cannot read those files because they are mounted in the sidecar only.
      securityContext: { seccompProfile: runtimeDefault, fsGroup: uid },
      initContainers: [captureContainer(ctx), sidecarContainer(ctx)],
      containers: [agentContainer(ctx)],
      volumes: volumes(ctx),
      terminationGracePeriodSeconds: 10,
    },
  };
  // Pod specs are mostly immutable: the hash tells the operator when to replace the pod. The
  // sidecar reads its config once, so the config is part of the hash too.
  const hash = createHash("sha256").update(JSON.stringify(pod.spec)).update(sidecarConfig.data?.["config.json"] ?? "").digest("hex").slice(0, 16);
  pod.metadata!.annotations = { [SPEC_HASH]: hash };
  if (ctx.podName) pod.metadata!.labels = { ...pod.metadata!.labels, ...podSelector(ctx) };
  return pod;
}
