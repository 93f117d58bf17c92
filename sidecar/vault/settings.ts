// How the sidecar reaches Vault: address, trust, login method, re-read interval and retry
// bounds. Part of the sidecar configuration file (the `vault` key of SidecarConfig).
import { z } from "zod";

export const DEFAULT_VAULT_TOKEN_FILE = "/var/run/secrets/agentbox/vault/token";

const MountName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/, { message: 'expected an auth mount path such as "kubernetes" or "k8s/prod"' });

const KubernetesAuth = z
  .object({
    kubernetes: z
      .object({
        role: z.string().min(1).describe("role: the Vault Kubernetes-auth role bound to this namespace's service account. Required."),
        mount: MountName.default("kubernetes").describe('mount: where the Kubernetes auth method is enabled. Default: "kubernetes".'),
        tokenFile: z
          .string()
          .min(1)
          .default(DEFAULT_VAULT_TOKEN_FILE)
          .describe(`tokenFile: the projected, audience-scoped service-account token; re-read at every login. Default: ${DEFAULT_VAULT_TOKEN_FILE}.`),
      })
      .strict(),
  })
  .strict();

const AppRoleAuth = z
  .object({
    approle: z
      .object({
        mount: MountName.default("approle").describe('mount: where the AppRole auth method is enabled. Default: "approle".'),
        roleIdFile: z.string().min(1).describe("roleIdFile: file holding the role_id. Required."),
        secretIdFile: z.string().min(1).describe("secretIdFile: file holding the secret_id; re-read at every login. Required."),
      })
      .strict(),
  })
  .strict();

const TokenAuth = z
  .object({
    token: z
      .object({ file: z.string().min(1).describe("file: a Vault token (local use and tests); re-read at every login. Required.") })
      .strict(),
  })
  .strict();

export const VaultSettings = z
  .object({
    address: z
      .url({ protocol: /^https?$/, message: 'expected the Vault address as a URL such as "https://vault.vault.svc:8200"' })
      .describe("address: Vault's URL. Required."),
    caFile: z.string().min(1).optional().describe("caFile: PEM roots that verify Vault's TLS certificate, besides the system roots. Optional."),
    auth: z
      .union([KubernetesAuth, AppRoleAuth, TokenAuth])
      .describe("auth: how the sidecar logs in: {kubernetes: {role, mount?, tokenFile?}}, {approle: {mount?, roleIdFile, secretIdFile}} or {token: {file}}. Required."),
    refreshSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(60)
      .describe("refreshSeconds: how often every Vault value is re-read, so a rotated value is used by new requests. Default: 60."),
    retry: z
      .object({
        attempts: z.number().int().min(1).max(20).default(5).describe("attempts: tries per read before the credential is reported unresolved. Default: 5."),
        initialDelayMs: z.number().int().min(0).max(60_000).default(200).describe("initialDelayMs: wait before the second try; doubled each time. Default: 200."),
        maxDelayMs: z.number().int().min(0).max(300_000).default(5_000).describe("maxDelayMs: longest wait between tries. Default: 5000."),
      })
      .strict()
      .default({ attempts: 5, initialDelayMs: 200, maxDelayMs: 5_000 })
      .describe("retry: bounds of the retries of one read (Vault unreachable, sealed, rate-limited)."),
    requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe("requestTimeoutMs: timeout of one Vault request. Default: 10000."),
  })
  .strict()
  .describe("vault: connection to Vault, required when a credential's source is {vault: ...}.");

export type VaultSettings = z.infer<typeof VaultSettings>;
export type VaultAuth = VaultSettings["auth"];
