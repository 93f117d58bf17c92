// How the sidecar reaches Vault: address, trust, login method, re-read interval and retry
// bounds. Part of the sidecar configuration file (the `vault` key of SidecarConfig).
import * as z from "zod/mini";

export const DEFAULT_VAULT_TOKEN_FILE = "/var/run/secrets/agentbox/vault/token";

const MountName = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/, { error: 'expected an auth mount path such as "kubernetes" or "k8s/prod"' }));

const requiredString = (description: string): z.ZodMiniString<string> => z.string().check(z.minLength(1), z.describe(description));

const KubernetesAuth = z.strictObject({
  kubernetes: z.strictObject({
    role: requiredString("role: the Vault Kubernetes-auth role bound to this namespace's service account. Required."),
    mount: z._default(MountName, "kubernetes").check(z.describe('mount: where the Kubernetes auth method is enabled. Default: "kubernetes".')),
    tokenFile: z
      ._default(z.string().check(z.minLength(1)), DEFAULT_VAULT_TOKEN_FILE)
      .check(z.describe(`tokenFile: the projected, audience-scoped service-account token; re-read at every login. Default: ${DEFAULT_VAULT_TOKEN_FILE}.`)),
  }),
});

const AppRoleAuth = z.strictObject({
  approle: z.strictObject({
    mount: z._default(MountName, "approle").check(z.describe('mount: where the AppRole auth method is enabled. Default: "approle".')),
    roleIdFile: requiredString("roleIdFile: file holding the role_id. Required."),
    secretIdFile: requiredString("secretIdFile: file holding the secret_id; re-read at every login. Required."),
  }),
});

const TokenAuth = z.strictObject({
  token: z.strictObject({ file: requiredString("file: a Vault token (local use and tests); re-read at every login. Required.") }),
});

/** An integer in [min, max] that defaults to `fallback`, documented by `description`. */
function boundedInt(min: number, max: number, fallback: number, description: string): z.ZodMiniDefault<z.ZodMiniNumber<number>> {
  return z._default(z.int().check(z.gte(min), z.lte(max)), fallback).check(z.describe(description));
}

export const VaultSettings = z
  .strictObject({
    address: z
      .url({ protocol: /^https?$/, error: 'expected the Vault address as a URL such as "https://vault.vault.svc:8200"' })
      .check(z.describe("address: Vault's URL. Required.")),
    caFile: z
      .optional(z.string().check(z.minLength(1)))
      .check(z.describe("caFile: PEM roots that verify Vault's TLS certificate, besides the system roots. Optional.")),
    auth: z
      .union([KubernetesAuth, AppRoleAuth, TokenAuth])
      .check(z.describe("auth: how the sidecar logs in: {kubernetes: {role, mount?, tokenFile?}}, {approle: {mount?, roleIdFile, secretIdFile}} or {token: {file}}. Required.")),
    refreshSeconds: boundedInt(1, 86_400, 60, "refreshSeconds: how often every Vault value is re-read, so a rotated value is used by new requests. Default: 60."),
    retry: z
      ._default(
        z.strictObject({
          attempts: boundedInt(1, 20, 5, "attempts: tries per read before the credential is reported unresolved. Default: 5."),
          initialDelayMs: boundedInt(0, 60_000, 200, "initialDelayMs: wait before the second try; doubled each time. Default: 200."),
          maxDelayMs: boundedInt(0, 300_000, 5_000, "maxDelayMs: longest wait between tries. Default: 5000."),
        }),
        { attempts: 5, initialDelayMs: 200, maxDelayMs: 5_000 },
      )
      .check(z.describe("retry: bounds of the retries of one read (Vault unreachable, sealed, rate-limited).")),
    requestTimeoutMs: boundedInt(100, 120_000, 10_000, "requestTimeoutMs: timeout of one Vault request. Default: 10000."),
  })
  .check(z.describe("vault: connection to Vault, required when a credential's source is {vault: ...}."));

export type VaultSettings = z.infer<typeof VaultSettings>;
export type VaultAuth = VaultSettings["auth"];
