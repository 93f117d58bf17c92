// Creates the sidecar with its Vault credentials attached when the configuration has Vault
// settings: the policy is built from the credentials that resolved, /readyz stays 503 naming
// the others, and each re-read that changes a value swaps in a new policy. Requests in flight
// keep the policy (value and scrub patterns) they started with.
import type { SidecarConfig } from "../config.js";
import { Sidecar, type SidecarOptions } from "../sidecar.js";
import { createLogger } from "../telemetry.js";
import { VaultCredentials, type VaultCredentialsOptions } from "./credentials.js";

export interface RunningSidecar {
  readonly sidecar: Sidecar;
  /** Undefined when the configuration has no Vault settings. */
  readonly vault: VaultCredentials | undefined;
  /** Applies a reloaded configuration (re-reading Vault for what it newly names). */
  reload(config: SidecarConfig): Promise<void>;
  close(): Promise<void>;
}

export async function createSidecar(options: SidecarOptions, vaultOptions: Omit<VaultCredentialsOptions, "logger"> = {}): Promise<RunningSidecar> {
  const { config } = options;
  if (config.vault === undefined) {
    const sidecar = await Sidecar.create(options);
    return { sidecar, vault: undefined, reload: (next) => sidecar.reload(next), close: () => sidecar.close() };
  }
  const logger = options.logger ?? createLogger();
  const vault = await VaultCredentials.create(config, { ...vaultOptions, logger });
  const sidecar = await Sidecar.create({ ...options, logger, config: vault.usable(), secretReader: vault.reader, readiness: vault.readiness });
  vault.expose(sidecar.metrics.registry);
  vault.start(() => sidecar.reload(vault.usable()));
  return {
    sidecar,
    vault,
    reload: async (next) => sidecar.reload(await vault.configure(next)),
    close: async () => {
      vault.stop();
      await sidecar.close();
    },
  };
}
