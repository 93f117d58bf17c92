// Secret sources behind one interface. A Kubernetes Secret is mounted into the sidecar
// container only and read as a file, like a local file; Vault comes with its own task.
import { readFile } from "node:fs/promises";
import type { SecretSource, SidecarConfig } from "./config.js";

export interface SecretReader {
  (source: SecretSource, credential: string): Promise<string>;
}

/** Reads a file or mounted Secret key; surrounding whitespace (a trailing newline) is dropped. */
export const readSecretSource: SecretReader = async (source, credential) => {
  if ("vault" in source) {
    throw new Error(`credential "${credential}": a vault source is read by sidecar/vault (create the sidecar with createSidecar from sidecar/vault/attach.js); this reader reads files only`);
  }
  let text: string;
  try {
    text = await readFile(source.file.path, "utf8");
  } catch (cause) {
    throw new Error(`credential "${credential}": cannot read its value from ${source.file.path}`, { cause });
  }
  const value = text.trim();
  if (value.length === 0) throw new Error(`credential "${credential}": ${source.file.path} is empty`);
  return value;
};

/** Reads every credential's real value; fails naming the first credential that cannot be read. */
export async function readSecrets(config: SidecarConfig, reader: SecretReader = readSecretSource): Promise<Map<string, string>> {
  const entries = await Promise.all(
    config.credentials.map(async (credential): Promise<[string, string]> => {
      const value = await reader(credential.source, credential.name);
      if (value.includes(credential.stub) || credential.stub.includes(value)) {
        throw new Error(`credential "${credential.name}": its stub and its real value overlap`);
      }
      return [credential.name, value];
    }),
  );
  return new Map(entries);
}
