import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { parseCidr } from "./egress-bound.js";

// The operator's configuration, read once at start from the environment (the Helm chart sets
// it) with a few command-line flags on top; nothing reads process.env after this.

const intFrom = (d: number, min: number, max: number): z.ZodDefault<z.ZodCoercedNumber<unknown>> => z.coerce.number().int().min(min).max(max).default(d);

export const OperatorConfig = z.object({
  namespace: z.string().default("").describe("namespace: watch only this namespace; empty watches all. Env AGENTBOX_WATCH_NAMESPACE, flag --namespace."),
  platformImage: z.string().min(1).default("agentbox/platform:dev").describe("platformImage: the image holding the sidecar and capture entry points. Env AGENTBOX_PLATFORM_IMAGE."),
  sessionServiceAccount: z.string().min(1).default("default").describe("sessionServiceAccount: the service account of session pods, whose audience-scoped token only the sidecar gets. Env AGENTBOX_SESSION_SERVICE_ACCOUNT."),
  tokenAudience: z.string().min(1).default("vault").describe("tokenAudience: audience of the sidecar's projected token. Env AGENTBOX_TOKEN_AUDIENCE."),
  vaultAddress: z.string().url().optional().describe("vaultAddress: Vault's URL as the sidecar reaches it. Env AGENTBOX_VAULT_ADDR."),
  vaultRole: z.string().default("agentbox").describe("vaultRole: the Vault Kubernetes-auth role. Env AGENTBOX_VAULT_ROLE."),
  vaultAuthMount: z.string().default("kubernetes").describe("vaultAuthMount: the Vault Kubernetes-auth mount. Env AGENTBOX_VAULT_AUTH_MOUNT."),
  extraEgress: z
    .string()
    .default("[]")
    .transform((s, ctx) => {
      try {
        const v: unknown = JSON.parse(s);
        if (Array.isArray(v)) return v as Record<string, unknown>[];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: "custom", message: "must be a JSON array of NetworkPolicy egress rules" });
      return z.NEVER;
    })
    .describe("extraEgress: NetworkPolicy egress rules added to every session (e.g. to reach Vault), as JSON. Env AGENTBOX_EXTRA_EGRESS."),
  requireTemplate: z.enum(["true", "false"]).default("false").transform((v) => v === "true").describe("requireTemplate: every credential must come from an AgentTemplate; a session with its own spec.credentials gets CredentialsResolved=False TemplateRequired and no pod. Env AGENTBOX_REQUIRE_TEMPLATE (chart value credentials.requireTemplate)."),
  allowPrivateBound: z
    .string()
    .default("[]")
    .transform((s, ctx) => {
      try {
        const v: unknown = JSON.parse(s);
        if (Array.isArray(v) && v.every((c) => typeof c === "string" && parseCidr(c) !== undefined)) return v as string[];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: "custom", message: "must be a JSON array of CIDR blocks such as [\"10.0.0.0/8\"]" });
      return z.NEVER;
    })
    .describe("allowPrivateBound: the only private, loopback or link-local CIDR blocks a session's egress.allowPrivate (its template's included) may open; anything outside gets Ready=False EgressNotAllowed and no pod. Default [] (none). Env AGENTBOX_ALLOW_PRIVATE_BOUND (chart value egress.allowPrivateBound), as JSON."),
  upstreamCaConfigMap: z.string().optional().describe("upstreamCaConfigMap: ConfigMap (key ca.crt) in each session's namespace with extra roots the sidecar trusts upstream. Env AGENTBOX_UPSTREAM_CA_CONFIGMAP."),
  workers: intFrom(64, 1, 256).describe("workers: sessions reconciled in parallel (API latency, not CPU, bounds a reconcile). Env AGENTBOX_WORKERS."),
  resyncSeconds: intFrom(300, 5, 86400).describe("resyncSeconds: every session is reconciled at least this often. Env AGENTBOX_RESYNC_SECONDS."),
  metricsAddress: z.string().default("0.0.0.0").describe("metricsAddress: address of the /metrics, /healthz, /readyz listener. Env AGENTBOX_METRICS_ADDRESS."),
  metricsPort: intFrom(8080, 0, 65535).describe("metricsPort: its port; 0 picks a free one. Env AGENTBOX_METRICS_PORT, flag --metrics-port."),
  leaderElection: z.enum(["true", "false"]).default("true").transform((v) => v === "true").describe("leaderElection: take a Lease before reconciling, so replicas are safe. Env AGENTBOX_LEADER_ELECTION, flag --leader-elect=false."),
  leaseName: z.string().default("agentbox-operator").describe("leaseName: the coordination.k8s.io Lease. Env AGENTBOX_LEASE_NAME."),
  leaseNamespace: z.string().default("agentbox-system").describe("leaseNamespace: its namespace. Env POD_NAMESPACE."),
  identity: z.string().default(() => `${hostname()}-${randomBytes(4).toString("hex")}`).describe("identity: this replica's name in the Lease. Env POD_NAME."),
  leaseDurationSeconds: intFrom(15, 2, 300).describe("leaseDurationSeconds: how long a Lease holds without renewal. Env AGENTBOX_LEASE_DURATION_SECONDS."),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error"]).default("info").describe("logLevel: pino log level. Env LOG_LEVEL."),
});
export type OperatorConfig = z.output<typeof OperatorConfig>;

const ENV: Record<string, keyof z.input<typeof OperatorConfig>> = {
  AGENTBOX_WATCH_NAMESPACE: "namespace",
  AGENTBOX_PLATFORM_IMAGE: "platformImage",
  AGENTBOX_SESSION_SERVICE_ACCOUNT: "sessionServiceAccount",
  AGENTBOX_TOKEN_AUDIENCE: "tokenAudience",
  AGENTBOX_VAULT_ADDR: "vaultAddress",
  AGENTBOX_VAULT_ROLE: "vaultRole",
  AGENTBOX_VAULT_AUTH_MOUNT: "vaultAuthMount",
  AGENTBOX_EXTRA_EGRESS: "extraEgress",
  AGENTBOX_UPSTREAM_CA_CONFIGMAP: "upstreamCaConfigMap",
  AGENTBOX_REQUIRE_TEMPLATE: "requireTemplate",
  AGENTBOX_ALLOW_PRIVATE_BOUND: "allowPrivateBound",
  AGENTBOX_WORKERS: "workers",
  AGENTBOX_RESYNC_SECONDS: "resyncSeconds",
  AGENTBOX_METRICS_ADDRESS: "metricsAddress",
  AGENTBOX_METRICS_PORT: "metricsPort",
  AGENTBOX_LEADER_ELECTION: "leaderElection",
  AGENTBOX_LEASE_NAME: "leaseName",
  POD_NAMESPACE: "leaseNamespace",
  POD_NAME: "identity",
  AGENTBOX_LEASE_DURATION_SECONDS: "leaseDurationSeconds",
  LOG_LEVEL: "logLevel",
};

const FLAGS: Record<string, keyof z.input<typeof OperatorConfig>> = {
  "--namespace": "namespace",
  "--metrics-port": "metricsPort",
  "--leader-elect": "leaderElection",
};

export const HELP = `agentbox operator: turns AgentSessions into locked-down pods.

usage: node dist/operator/main.js [--namespace NS] [--metrics-port N] [--leader-elect=true|false] [--help]

Configuration comes from the environment (flags override):
${OperatorConfig.keyof().options.map((k) => `  ${(OperatorConfig.shape[k].description ?? k)}`).join("\n")}
KUBECONFIG or the in-cluster service account selects the cluster.
`;

/** Builds the configuration from env and argv; throws an Error listing every bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): OperatorConfig {
  const raw: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const key = FLAGS[flag];
    if (!key) throw new Error(`unknown flag ${flag}; see --help`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`flag ${flag} needs a value`);
    raw[key] = value;
  }
  const r = OperatorConfig.safeParse(raw);
  if (!r.success) {
    throw new Error(`invalid operator configuration:\n${r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  }
  return r.data;
}
