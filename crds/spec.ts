import { z } from "zod";
import { withRules } from "./rules.js";
import { dnsLabel, envName, hostPattern, quantity, CIDR, HEADER_NAME } from "./patterns.js";

// Building blocks shared by AgentSession and AgentTemplate. Every field's description starts
// with its JSON name and says what it does, its default and whether it is required: it is the
// API reference, and it flows into the CRD YAML and docs/api.md.

/** Names agentbox sets in the agent's environment; a user's env may not shadow them. */
export const RESERVED_ENV_NAMES = [
  "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy",
  "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO",
] as const;

export const EnvVar = z
  .object({
    name: envName("name: the environment variable's name. Required."),
    value: z.string().max(32768).default("").describe("value: the literal value. Never put a secret here: declare it under credentials instead. Default \"\"."),
  })
  .describe("An environment variable for the agent container.");

export const Resources = z
  .object({
    requests: z
      .object({
        cpu: quantity("cpu: CPU requested, e.g. 500m or 2. Optional.").optional(),
        memory: quantity("memory: memory requested, e.g. 512Mi or 4Gi. Optional.").optional(),
        "ephemeral-storage": quantity("ephemeral-storage: local scratch space requested, e.g. 1Gi. Optional.").optional(),
      })
      .optional()
      .describe("requests: the amounts the scheduler reserves for the agent container. Optional."),
    limits: z
      .object({
        cpu: quantity("cpu: CPU limit, e.g. 2. Optional.").optional(),
        memory: quantity("memory: memory limit; the agent is OOM-killed above it, e.g. 4Gi. Optional.").optional(),
        "ephemeral-storage": quantity("ephemeral-storage: local scratch space limit; the pod is evicted above it. Optional.").optional(),
      })
      .optional()
      .describe("limits: the most the agent container may use. Optional."),
  })
  .describe("resources: compute resources of the agent container. Optional; default none (best effort).");

/** The agent container. In a template every field is optional; a session needs an image from one of the two. */
export const AgentContainer = z
  .object({
    image: z.string().min(1).max(512).optional().describe("image: the agent's container image, e.g. registry.example.com/agents/claude-code:1.2. Required unless the template provides it."),
    command: z.array(z.string().max(4096)).max(64).optional().describe("command: the entrypoint, overriding the image's ENTRYPOINT. Optional; default the image's."),
    args: z.array(z.string().max(32768)).max(256).optional().describe("args: arguments to the entrypoint, overriding the image's CMD. Optional; default the image's."),
    env: z
      .array(EnvVar)
      .max(128)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("env: plain environment variables for the agent. Names must be unique and must not collide with a credential's env or with the proxy and trust variables agentbox sets. Optional."),
    workingDir: z.string().max(4096).optional().describe("workingDir: the agent's working directory. Optional; default the workspace mount path."),
    resources: Resources.optional(),
    tty: z.boolean().optional().describe("tty: whether the agent gets a terminal (stdin + TTY) that people attach to. Optional; default true for Interactive sessions and false for Batch ones."),
    runAsUser: z.int().min(1).max(2147483647).optional().describe("runAsUser: the non-root uid the agent runs as; 0 and the sidecar's uid 1337 are refused. Optional; default 1000."),
  })
  .describe("agent: the container that runs the coding agent. Optional in a template; in a session its image is required unless the template provides one.");

const agentRules = withRules(AgentContainer, [
  {
    rule: "!has(self.env) || self.env.all(e, !(e.name in " + JSON.stringify(RESERVED_ENV_NAMES) + "))",
    message: "agent.env must not set the proxy or trust variables agentbox manages (" + RESERVED_ENV_NAMES.join(", ") + ")",
    fieldPath: ".env",
    check: (a) => (a.env ?? []).every((e) => !(RESERVED_ENV_NAMES as readonly string[]).includes(e.name)),
  },
  {
    rule: "!has(self.runAsUser) || self.runAsUser != 1337",
    message: "agent.runAsUser must not be 1337: that uid is the sidecar's and bypasses egress capture",
    fieldPath: ".runAsUser",
    check: (a) => a.runAsUser !== 1337,
  },
]);

export const CredentialSource = withRules(
  z
    .object({
      vault: z
        .object({
          path: z.string().min(1).max(512).describe("path: the Vault KV path, e.g. kv/data/agents/anthropic. Required."),
          key: z.string().min(1).max(253).describe("key: the key inside the secret's data. Required."),
        })
        .optional()
        .describe("vault: read the value from Vault with the sidecar's projected service-account token. In a session's own spec, its creator needs verb use on vaultpaths.agentbox.dev with resourceName the path exactly as written (checked at admission; no default role grants it); a template's credential needs no grant. Set exactly one of vault and secretKeyRef."),
      secretKeyRef: z
        .object({
          name: z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be a Kubernetes object name" }).describe("name: the Secret's name, in the session's namespace. Required."),
          key: z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/, { message: "must be a Secret data key: letters, digits, -, _ and ." }).describe("key: the key inside the Secret's data. Required."),
        })
        .optional()
        .describe("secretKeyRef: read the value from a Kubernetes Secret, mounted into the sidecar container only. In a session's own spec, its creator must be allowed to get that Secret (checked at admission); a template's credential needs no such permission. A Secret annotated agentbox.dev/allowed-hosts (comma-separated host patterns) is used only for credentials whose hosts it all covers (else CredentialsResolved=False CredentialNotAllowed). Set exactly one of vault and secretKeyRef."),
    })
    .describe("source: where the sidecar reads the real value. Required; exactly one of vault and secretKeyRef."),
  [
    {
      rule: "has(self.vault) != has(self.secretKeyRef)",
      message: "source must set exactly one of vault and secretKeyRef",
      check: (s) => (s.vault !== undefined) !== (s.secretKeyRef !== undefined),
    },
  ],
);

export const STUB_FORMATS = ["anthropic", "openai", "github-classic", "github-fine-grained", "opaque"] as const;

export const Credential = z
  .object({
    name: dnsLabel("name: identifies the credential within the session; unique. Required."),
    env: envName("env: the environment variable in which the agent sees the credential's stub (never the real value). Unique; must not collide with agent.env. Required."),
    hosts: z
      .array(hostPattern("A host the real value may be sent to; `*.example.com` matches any subdomain, not the apex."))
      .min(1)
      .max(32)
      .describe("hosts: the only destinations towards which the sidecar swaps the stub for the real value; a stub sent anywhere else is refused and audited. Required, at least one."),
    inject: z
      .object({
        headers: z
          .array(z.string().min(1).max(128).regex(new RegExp(HEADER_NAME), { message: "must be an HTTP header name" }).describe("An HTTP request header name, case-insensitive."))
          .min(1)
          .max(16)
          .default(["authorization"])
          .describe("headers: request header names in which the stub may be replaced (Basic auth is decoded and re-encoded). Default [authorization]."),
        body: z.boolean().default(false).describe("body: whether the stub may also be replaced in request bodies. Unsafe towards any host that transforms its input (an LLM, a translation or formatting service): the agent can ask it to send the real value back in a form response scrubbing does not recognise (spelled with dashes, reversed). Allowed only in an AgentTemplate (platform-owned): admission refuses it in a session's own spec. Default false."),
      })
      .prefault({})
      .describe("inject: where in a request the stub may be replaced. Optional; default headers [authorization], body false."),
    format: z
      .enum(STUB_FORMATS)
      .optional()
      .describe("format: the real token's format, so the stub has the same prefix and length and client-side format checks pass: anthropic (sk-ant-api03-…), openai (sk-…), github-classic (ghp_…), github-fine-grained (github_pat_…), opaque. Optional; default inferred from hosts, else opaque."),
    source: CredentialSource,
  })
  .describe("A credential the agent may use without ever seeing it.");

export const Credentials = withRules(
  z
    .array(Credential)
    .max(32)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .describe("credentials: secrets the agent uses through stubs; the sidecar swaps each stub for the real value only towards the credential's hosts. Optional; default none."),
  [
    {
      rule: "self.all(c, self.exists_one(d, d.env == c.env))",
      message: "credentials[].env must be unique",
      check: (cs) => new Set(cs.map((c) => c.env)).size === cs.length,
    },
  ],
);

export const Egress = z
  .object({
    allow: z
      .array(hostPattern("A host the agent may reach; `*.example.com` matches any subdomain, not the apex."))
      .max(256)
      .default([])
      .describe("allow: hosts the agent may reach through the sidecar; everything else is denied. A credential's hosts are allowed implicitly. Default []."),
    allowPrivate: z
      .array(z.string().max(64).regex(new RegExp(CIDR), { message: "must be a CIDR block such as 10.0.0.0/8" }).describe("A CIDR block."))
      .max(64)
      .optional()
      .describe("allowPrivate: private, loopback or link-local address blocks the agent may reach although they are refused by default. Each must lie inside the platform's bound (chart value egress.allowPrivateBound, default none): admission refuses others, and the operator refuses a merged spec with others (Ready=False EgressNotAllowed). Optional; default none."),
  })
  .describe("egress: where the agent may connect. Optional; default deny everything except the credentials' hosts.");

export const Workspace = z
  .object({
    storage: z
      .object({
        size: quantity("size: the PersistentVolumeClaim's requested size, e.g. 10Gi. Required."),
        storageClassName: z.string().min(1).max(253).optional().describe("storageClassName: the StorageClass to use. Optional; default the cluster default."),
      })
      .optional()
      .describe("storage: back the workspace with a PersistentVolumeClaim owned by the session. Optional; default an emptyDir that dies with the pod."),
    mountPath: z
      .string()
      .max(4096)
      .regex(/^\/[^:]*$/, { message: "must be an absolute path without ':'" })
      .optional()
      .describe("mountPath: where the workspace is mounted in the agent container. Optional; default /workspace."),
  })
  .describe("workspace: the agent's working volume. Optional; default an emptyDir at /workspace.");

export const MODES = ["Interactive", "Batch"] as const;

export const Lifecycle = withRules(
  z
    .object({
      mode: z
        .enum(MODES)
        .optional()
        .describe("mode: Interactive sessions run until deleted or expired and people attach to them; Batch sessions end with the agent's exit code. Immutable. Optional; default the template's, else Interactive."),
      ttlSeconds: z.int().min(1).max(31536000).optional().describe("ttlSeconds: the session expires this many seconds after it started running: its pod is removed and its phase becomes Expired. Optional; default never."),
      idleTimeoutSeconds: z.int().min(1).max(31536000).optional().describe("idleTimeoutSeconds: an Interactive session expires after this many seconds without terminal activity (annotation agentbox.dev/last-activity). Interactive only. Optional; default never."),
      ttlSecondsAfterFinished: z.int().min(0).max(31536000).optional().describe("ttlSecondsAfterFinished: a finished Batch session is deleted this many seconds after it completed. Batch only. Optional; default kept."),
    })
    .describe("lifecycle: how the session runs and ends. Optional; default Interactive with no expiry."),
  [
    {
      rule: "!has(self.ttlSecondsAfterFinished) || !has(self.mode) || self.mode == 'Batch'",
      message: "lifecycle.ttlSecondsAfterFinished applies only to mode Batch",
      fieldPath: ".ttlSecondsAfterFinished",
      check: (l) => l.ttlSecondsAfterFinished === undefined || l.mode !== "Interactive",
    },
    {
      rule: "!has(self.idleTimeoutSeconds) || !has(self.mode) || self.mode == 'Interactive'",
      message: "lifecycle.idleTimeoutSeconds applies only to mode Interactive",
      fieldPath: ".idleTimeoutSeconds",
      check: (l) => l.idleTimeoutSeconds === undefined || l.mode !== "Batch",
    },
  ],
);

export const Isolation = z
  .object({
    runtimeClassName: z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be a RuntimeClass name" }).optional().describe("runtimeClassName: the RuntimeClass for the pod, e.g. gvisor or kata. Optional; default the node's runtime."),
    nodeSelector: z.record(z.string().max(317), z.string().max(63)).optional().describe("nodeSelector: labels a node must have to run the pod. Optional."),
  })
  .describe("isolation: how strongly the pod is separated from the node. Optional.");

export const agent = agentRules;

