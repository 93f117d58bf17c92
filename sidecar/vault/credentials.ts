// The sidecar's Vault-backed credentials: every `vault` source resolved with bounded retries,
// re-read on an interval so a rotated value reaches new requests without a restart, and a
// readiness verdict that names each credential that does not resolve and why. A credential
// that has never resolved is left out of the policy (its hosts are refused) and keeps the
// sidecar unready; a transient failure after a success keeps the last good value, while a
// definitive refusal (policy, path, key) drops it.
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import type { Credential, SidecarConfig } from "../config.js";
import { readSecretSource, type SecretReader } from "../secrets.js";
import { backoffDelays, realDelay, type Delay } from "./backoff.js";
import { VaultClient, type KvValue } from "./client.js";
import { classifyVaultError, type VaultFailure } from "./errors.js";
import { credentialsReport } from "./report.js";
import type { VaultSettings } from "./settings.js";

/** What the credentials need from Vault; the real one is VaultClient. */
export interface KvReader {
  readKv(path: string, key: string): Promise<KvValue>;
  close(): void;
}

export interface VaultCredentialsOptions {
  client?: KvReader;
  delay?: Delay;
  logger?: Logger;
}

interface Resolved {
  readonly path: string;
  readonly key: string;
  readonly value: string;
}

export interface Unresolved {
  readonly name: string;
  readonly reason: VaultFailure["reason"];
  readonly message: string;
}

type VaultCredential = Credential & { source: { vault: { path: string; key: string } } };

function isVault(credential: Credential): credential is VaultCredential {
  return "vault" in credential.source;
}

export class VaultCredentials {
  private readonly settings: VaultSettings;
  private readonly client: KvReader;
  private readonly delay: Delay;
  private readonly logger: Logger | undefined;
  private gauge: Gauge<"credential"> | undefined;
  private config: SidecarConfig;
  private readonly values = new Map<string, Resolved>();
  private readonly problems = new Map<string, VaultFailure>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;
  private reported: string | undefined;

  private constructor(config: SidecarConfig, settings: VaultSettings, client: KvReader, options: VaultCredentialsOptions) {
    this.config = config;
    this.settings = settings;
    this.client = client;
    this.delay = options.delay ?? realDelay;
    this.logger = options.logger;
  }

  /** Exposes per-credential resolution (1 or 0, never a value) on the sidecar's /metrics. */
  expose(registry: Registry): void {
    this.gauge = new Gauge({
      name: "agentbox_sidecar_vault_credential_resolved",
      help: "1 when the credential's value was read from Vault, 0 while it does not resolve.",
      labelNames: ["credential"] as const,
      registers: [registry],
    });
    for (const credential of this.vaultCredentials()) this.gauge.set({ credential: credential.name }, this.hasValue(credential) ? 1 : 0);
  }

  /** Connects (without logging in yet) and makes the first attempt at every Vault credential. */
  static async create(config: SidecarConfig, options: VaultCredentialsOptions = {}): Promise<VaultCredentials> {
    if (config.vault === undefined) throw new Error("the sidecar config has no vault settings");
    const client = options.client ?? (await VaultClient.create(config.vault, config.upstreamCaFile));
    const credentials = new VaultCredentials(config, config.vault, client, options);
    await credentials.refresh();
    return credentials;
  }

  /** Reads file sources as usual and Vault sources from the last successful read. */
  readonly reader: SecretReader = async (source, credential) => {
    if (!("vault" in source)) return readSecretSource(source, credential);
    const resolved = this.values.get(credential);
    if (resolved !== undefined && resolved.path === source.vault.path && resolved.key === source.vault.key) return resolved.value;
    const problem = this.problems.get(credential);
    throw new Error(`credential "${credential}": ${problem?.message ?? "not read from Vault yet"}`);
  };

  /** Why the sidecar is not ready (one line per unresolved credential), or undefined when every one resolved. */
  readonly readiness = (): string | undefined => {
    const unresolved = this.unresolved();
    if (unresolved.length === 0) return undefined;
    return unresolved.map((entry) => `credential "${entry.name}" ${entry.reason}: ${entry.message}`).join("\n");
  };

  /** The Vault credentials of the current config that have no value, with the reason. */
  unresolved(): Unresolved[] {
    return this.vaultCredentials()
      .filter((credential) => !this.hasValue(credential))
      .map((credential) => {
        const problem = this.problems.get(credential.name);
        return { name: credential.name, reason: problem?.reason ?? "Unavailable", message: problem?.message ?? "not read from Vault yet" };
      });
  }

  /** `config` without the Vault credentials that have no value, so the policy can be built from the rest. */
  usable(config: SidecarConfig = this.config): SidecarConfig {
    return { ...config, credentials: config.credentials.filter((credential) => !isVault(credential) || this.hasValue(credential)) };
  }

  /** Adopts a reloaded configuration, reads what it newly names and returns its usable part. */
  async configure(config: SidecarConfig): Promise<SidecarConfig> {
    this.config = config;
    await this.refresh();
    return this.usable(config);
  }

  /**
   * Re-reads every Vault credential (all at once, each with bounded retries). Resolves true when
   * a value appeared, changed or was dropped, i.e. when the policy must be rebuilt.
   */
  refresh(): Promise<boolean> {
    // Overlapping refreshes (timer and a config reload) share one round of reads.
    this.refreshing ??= this.readAll().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Re-reads every refreshSeconds; `onChange` rebuilds the policy. */
  start(onChange: () => Promise<void>): void {
    const tick = (): void => {
      this.refresh()
        .then((changed) => (changed ? onChange() : undefined))
        .catch((error: unknown) => this.logger?.error({ err: error instanceof Error ? error.message : String(error) }, "applying Vault values failed"))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.settings.refreshSeconds * 1_000).unref();
        });
    };
    this.timer = setTimeout(tick, this.settings.refreshSeconds * 1_000).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.client.close();
  }

  private vaultCredentials(): VaultCredential[] {
    return this.config.credentials.filter(isVault);
  }

  private hasValue(credential: VaultCredential): boolean {
    const resolved = this.values.get(credential.name);
    return resolved !== undefined && resolved.path === credential.source.vault.path && resolved.key === credential.source.vault.key;
  }

  private async readAll(): Promise<boolean> {
    const credentials = this.vaultCredentials();
    const names = new Set(credentials.map((credential) => credential.name));
    let changed = false;
    for (const name of [...this.values.keys()]) {
      if (!names.has(name)) changed = this.values.delete(name) || changed;
    }
    for (const name of [...this.problems.keys()]) if (!names.has(name)) this.problems.delete(name);
    const outcomes = await Promise.all(credentials.map((credential) => this.readOne(credential)));
    for (const [index, outcome] of outcomes.entries()) {
      const credential = credentials[index] as VaultCredential;
      const { path, key } = credential.source.vault;
      const before = this.values.get(credential.name);
      if ("value" in outcome) {
        this.problems.delete(credential.name);
        if (before?.value !== outcome.value || before.path !== path || before.key !== key) {
          changed = true;
          this.logger?.info({ credential: credential.name, path, version: outcome.version, rotated: before !== undefined }, before === undefined ? "credential resolved from Vault" : "credential re-read from Vault");
        }
        this.values.set(credential.name, { path, key, value: outcome.value });
      } else {
        this.problems.set(credential.name, outcome.failure);
        const keep = before !== undefined && before.path === path && before.key === key && outcome.failure.retryable;
        if (!keep && before !== undefined) {
          this.values.delete(credential.name);
          changed = true;
        }
        this.logger?.warn(
          { credential: credential.name, path, reason: outcome.failure.reason, keptPreviousValue: keep },
          `credential "${credential.name}": ${outcome.failure.message}`,
        );
      }
      this.gauge?.set({ credential: credential.name }, this.hasValue(credential) ? 1 : 0);
    }
    this.report();
    return changed;
  }

  /** Writes the operator's `credentials-unresolved` / `credentials-resolved` line when the verdict changed. */
  private report(): void {
    const report = credentialsReport(this.reported, this.unresolved());
    if (report === undefined) return;
    this.reported = report.key;
    if (report.line.event === "credentials-resolved") this.logger?.info(report.line, "every Vault credential resolved");
    else this.logger?.warn(report.line, `unresolved Vault credentials: ${report.line.unresolved.map((entry) => `"${entry.credential}" ${entry.reason}`).join(", ")}`);
  }

  private async readOne(credential: VaultCredential): Promise<KvValue | { failure: VaultFailure }> {
    const { path, key } = credential.source.vault;
    const delays = backoffDelays(this.settings.retry);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.readKv(path, key);
      } catch (error) {
        const failure = classifyVaultError(error, { kind: "read", path, key });
        const wait = delays[attempt];
        if (!failure.retryable || wait === undefined) return { failure };
        await this.delay(wait);
      }
    }
  }
}
