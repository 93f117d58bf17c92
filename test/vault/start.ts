// Starts the real Vault server (built by build.sh) in dev mode for the test tiers (127.0.0.1 by default):
// a random free port, a random root token, KV v2 at kv/, a file audit device, and a stop
// function. Dev mode keeps everything in memory; nothing outlives stop().
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/wait.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface VaultServer {
  /** http://<host>:<port> */
  readonly address: string;
  readonly rootToken: string;
  /** File the audit device writes one JSON record per request to. */
  readonly auditFile: string;
  /** Everything the server printed (for scans and failure messages). */
  output(): string;
  /** Calls the HTTP API with the root token (or `token`); throws with Vault's errors on a non-2xx. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** Where build.sh puts the server for the version go.mod pins (cached by version). */
function cachedVaultPath(): string {
  const version = /github\.com\/hashicorp\/vault v([0-9.]+)/.exec(readFileSync(join(here, "go.mod"), "utf8"))?.[1];
  if (version === undefined) throw new Error("test/vault/go.mod names no github.com/hashicorp/vault version");
  return join(process.env.AGENTBOX_CACHE ?? "/var/cache/agentbox", `vault-v${version}`, "bin", "vault");
}

/**
 * Why the Vault tests cannot run here, or false. Tests never build the server themselves: a cold
 * build takes over an hour on 2 cores, so `npm run vault:build` (and `npm run setup`) do it.
 */
export const vaultSkipReason: string | false = existsSync(cachedVaultPath())
  ? false
  : `the Vault server is not built (${cachedVaultPath()}): run 'npm run vault:build'; see docs/vault.md for the open build problem`;

/** The built server's path (see vaultSkipReason). */
export async function vaultBinary(): Promise<string> {
  if (vaultSkipReason) throw new Error(vaultSkipReason);
  return cachedVaultPath();
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

export interface StartOptions {
  /**
   * Address to listen on: 127.0.0.1 unless pods must reach it (the e2e tier passes the local
   * cluster's node address, which its pods route to).
   */
  readonly host?: string;
}

export async function startVault(options: StartOptions = {}): Promise<VaultServer> {
  const binary = await vaultBinary();
  const host = options.host ?? "127.0.0.1";
  const rootToken = `root-${randomBytes(12).toString("hex")}`;
  const dir = await mkdtemp(join(tmpdir(), "agentbox-vault-"));
  const port = await freePort(host);
  const address = `http://${host}:${port}`;
  const child: ChildProcess = spawn(
    binary,
    ["server", "-dev", `-dev-root-token-id=${rootToken}`, `-dev-listen-address=${host}:${port}`, "-dev-no-store-token"],
    { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, VAULT_ADDR: address }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  child.once("exit", () => (exited = true));

  const api = async (method: string, path: string, body?: unknown, token = rootToken): Promise<unknown> => {
    const response = await fetch(`${address}/v1/${path}`, {
      method,
      headers: { "x-vault-token": token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Vault ${method} ${path}: ${response.status} ${text}`);
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  };

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      "Vault to answer /v1/sys/health as active and unsealed",
      async () => {
        if (exited) throw new Error(`vault exited early:\n${output}`);
        const response = await fetch(`${address}/v1/sys/health`);
        return response.status === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await api("POST", "sys/mounts/kv", { type: "kv", options: { version: "2" } });
    const auditFile = join(dir, "audit.log");
    await api("PUT", "sys/audit/file", { type: "file", options: { file_path: auditFile } });
    // KV v2 upgrades its storage in the background after mounting; reads fail until it is done.
    await waitFor("the kv/ mount to accept writes", () => api("POST", "kv/data/agentbox-probe", { data: { ok: "1" } }).then(() => true), { timeoutMs: 30_000, intervalMs: 100 });
    return { address, rootToken, auditFile, output: () => output, api, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
