// A logged-in connection to Vault through node-vault: login by the configured method, KV v2
// reads with one re-login when the token is refused, and renewal of renewable tokens. Every
// failure leaves here as a VaultProblem built by classifyVaultError, never as node-vault's or
// axios' own error (those carry the token and the login request in their config).
import { readFile } from "node:fs/promises";
import { rootCertificates } from "node:tls";
import createVaultClient from "node-vault";
import * as z from "zod/mini";
import { classifyVaultError, VaultProblem, type VaultOperation } from "./errors.js";
import { parseKvPath } from "./paths.js";
import type { VaultAuth, VaultSettings } from "./settings.js";

const LoginResponse = z.object({
  auth: z.object({
    client_token: z.string().check(z.minLength(1)),
    lease_duration: z.int().check(z.gte(0)),
    renewable: z.boolean(),
  }),
});

const KvResponse = z.object({
  data: z.object({
    data: z.nullable(z.record(z.string(), z.unknown())),
    metadata: z.nullish(z.partial(z.looseObject({ version: z.int() }))),
  }),
});

export interface KvValue {
  readonly value: string;
  readonly version: number | undefined;
}

export class VaultClient {
  private readonly vault: ReturnType<typeof createVaultClient>;
  private readonly auth: VaultAuth;
  private login: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(settings: VaultSettings, ca: string[] | undefined) {
    this.auth = settings.auth;
    this.vault = createVaultClient({
      endpoint: settings.address,
      // node-vault's debug output includes request bodies (values, JWTs): never enabled.
      debug: () => undefined,
      requestOptions: { timeout: settings.requestTimeoutMs, ...(ca === undefined ? {} : { ca }) },
    });
    // node-vault would otherwise read VAULT_TOKEN from the environment.
    this.vault.token = "";
  }

  /**
   * Vault's TLS is verified with the system roots plus vault.caFile, or else plus the sidecar's
   * upstreamCaFile (where the chart puts a private CA for Vault and other upstreams).
   */
  static async create(settings: VaultSettings, upstreamCaFile?: string): Promise<VaultClient> {
    const caFile = settings.caFile ?? upstreamCaFile;
    let ca: string[] | undefined;
    if (caFile !== undefined) {
      try {
        ca = [...rootCertificates, await readFile(caFile, "utf8")];
      } catch (cause) {
        throw new Error(`cannot read ${settings.caFile === undefined ? "upstreamCaFile" : "vault.caFile"} ${caFile}`, { cause });
      }
    }
    return new VaultClient(settings, ca);
  }

  /** Reads `key` of the latest version of the KV v2 secret at `path`, logging in first if needed. */
  async readKv(path: string, key: string): Promise<KvValue> {
    const parsed = parseKvPath(path);
    const operation: VaultOperation = { kind: "read", path, key };
    if ("error" in parsed) {
      throw new VaultProblem({ reason: "PathMissing", message: parsed.error, retryable: false, relogin: false });
    }
    await this.ensureLogin();
    const token = this.vault.token;
    let body: unknown;
    try {
      body = await this.vault.read(parsed.readPath);
    } catch (error) {
      const failure = classifyVaultError(error, operation);
      if (!failure.relogin) throw new VaultProblem(failure);
      // The token may have been revoked or may have expired: one fresh login, one more read.
      await this.relogin(token);
      try {
        body = await this.vault.read(parsed.readPath);
      } catch (again) {
        throw new VaultProblem(classifyVaultError(again, operation));
      }
    }
    const response = KvResponse.safeParse(body);
    if (!response.success) {
      throw new VaultProblem({ reason: "InvalidResponse", message: `Vault's answer for ${path} is not a KV v2 secret: check that the engine at "${parsed.mount}" is KV version 2`, retryable: false, relogin: false });
    }
    const data = response.data.data.data;
    if (data === null) {
      throw new VaultProblem({ reason: "PathMissing", message: `the latest version of ${path} is deleted: write a new version or undelete it`, retryable: false, relogin: false });
    }
    const value = data[key];
    if (typeof value !== "string" || value.trim() === "") {
      const keys = Object.keys(data).sort().join(", ");
      throw new VaultProblem({
        reason: "KeyMissing",
        message: value === undefined ? `${path} has no key "${key}" (its keys: ${keys === "" ? "none" : keys})` : `key "${key}" of ${path} is not a non-empty string`,
        retryable: false,
        relogin: false,
      });
    }
    return { value: value.trim(), version: response.data.data.metadata?.version };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.renewTimer);
  }

  private ensureLogin(): Promise<void> {
    this.login ??= this.doLogin().catch((error: unknown) => {
      this.login = undefined;
      throw error;
    });
    return this.login;
  }

  /** Logs in again unless a concurrent read already replaced the refused token. */
  private relogin(refused: string): Promise<void> {
    if (this.vault.token === refused) this.login = undefined;
    return this.ensureLogin();
  }

  private async doLogin(): Promise<void> {
    clearTimeout(this.renewTimer);
    // A revoked token must not ride along on the login request.
    this.vault.token = "";
    const auth = this.auth;
    if ("token" in auth) {
      this.vault.token = await readCredentialFile(auth.token.file, "vault token");
      return;
    }
    let body: unknown;
    const operation: VaultOperation =
      "kubernetes" in auth ? { kind: "login", method: "kubernetes", mount: auth.kubernetes.mount } : { kind: "login", method: "approle", mount: auth.approle.mount };
    try {
      if ("kubernetes" in auth) {
        const jwt = await readCredentialFile(auth.kubernetes.tokenFile, "service-account token");
        body = await this.vault.write(`auth/${auth.kubernetes.mount}/login`, { role: auth.kubernetes.role, jwt });
      } else {
        const roleId = await readCredentialFile(auth.approle.roleIdFile, "AppRole role_id");
        const secretId = await readCredentialFile(auth.approle.secretIdFile, "AppRole secret_id");
        body = await this.vault.write(`auth/${auth.approle.mount}/login`, { role_id: roleId, secret_id: secretId });
      }
    } catch (error) {
      if (error instanceof VaultProblem) throw error;
      throw new VaultProblem(classifyVaultError(error, operation));
    }
    const login = LoginResponse.safeParse(body);
    if (!login.success) {
      throw new VaultProblem({ reason: "InvalidResponse", message: `Vault's login answer at auth/${operation.kind === "login" ? operation.mount : ""} carries no client token`, retryable: false, relogin: false });
    }
    this.vault.token = login.data.auth.client_token;
    this.scheduleRenewal(login.data.auth.lease_duration, login.data.auth.renewable);
  }

  /** Renews at two thirds of the lease; when renewal is refused, the next read logs in again. */
  private scheduleRenewal(leaseSeconds: number, renewable: boolean): void {
    if (this.closed || leaseSeconds === 0) return;
    const dueMs = Math.max(1_000, (leaseSeconds * 1_000 * 2) / 3);
    this.renewTimer = setTimeout(() => {
      if (!renewable) {
        this.login = undefined;
        return;
      }
      this.vault.tokenRenewSelf().then(
        (body: unknown) => {
          const renewed = LoginResponse.safeParse(body);
          if (renewed.success) this.scheduleRenewal(renewed.data.auth.lease_duration, renewed.data.auth.renewable);
          else this.login = undefined;
        },
        () => {
          this.login = undefined;
        },
      );
    }, dueMs);
    this.renewTimer.unref();
  }
}

async function readCredentialFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new VaultProblem({ reason: "LoginFailed", message: `cannot read the ${what} from ${path} (${typeof code === "string" ? code : "read error"})`, retryable: false, relogin: false });
  }
  const value = text.trim();
  if (value === "") throw new VaultProblem({ reason: "LoginFailed", message: `the ${what} file ${path} is empty`, retryable: false, relogin: false });
  return value;
}
