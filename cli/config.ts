// Where the CLI connects and as whom, from flags and the environment, read once at start.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { GlobalOptions } from "./args.js";
import { CliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";

export type Connection = { server: URL; namespace: string; token: string; ca?: string };

export type Settings = { server: URL; namespace: string; token: { env: string } | { file: string }; caFile?: string };

const Env = z.object({
  AGENTBOX_URL: z.string().optional(),
  AGENTBOX_NAMESPACE: z.string().optional(),
  AGENTBOX_TOKEN: z.string().optional(),
  AGENTBOX_CA_FILE: z.string().optional(),
});

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Decides the settings from flags (which win) and environment variables; reads no file. */
export function resolveSettings(global: GlobalOptions, rawEnv: Record<string, string | undefined>): Settings {
  const env = Env.parse(rawEnv);
  const serverText = global.server ?? env.AGENTBOX_URL;
  if (serverText === undefined || serverText === "") {
    throw new CliError("no session API address: set AGENTBOX_URL (e.g. https://agentbox.example.com) or pass --server", EXIT.config);
  }
  let server: URL;
  try {
    server = new URL(serverText);
  } catch (cause) {
    throw new CliError(`AGENTBOX_URL / --server "${serverText}" is not a URL; expected e.g. https://agentbox.example.com`, EXIT.config, { cause });
  }
  if (server.protocol !== "http:" && server.protocol !== "https:") {
    throw new CliError(`the session API address must start with https:// or http://, not ${server.protocol}`, EXIT.config);
  }
  if (server.search !== "" || server.username !== "" || server.password !== "") {
    throw new CliError("the session API address must not carry a query or credentials: put the token in AGENTBOX_TOKEN", EXIT.config);
  }
  const namespace = global.namespace ?? env.AGENTBOX_NAMESPACE ?? "default";
  if (!NAMESPACE.test(namespace)) throw new CliError(`"${namespace}" is not a namespace name`, EXIT.usage);

  let token: Settings["token"];
  if (global.tokenFile !== undefined) token = { file: global.tokenFile };
  else if (env.AGENTBOX_TOKEN !== undefined && env.AGENTBOX_TOKEN.trim() !== "") token = { env: env.AGENTBOX_TOKEN.trim() };
  else throw new CliError("no token: set AGENTBOX_TOKEN or pass --token-file PATH (e.g. a service-account token)", EXIT.config);

  const settings: Settings = { server, namespace, token };
  const caFile = global.caFile ?? env.AGENTBOX_CA_FILE;
  if (caFile !== undefined && caFile !== "") settings.caFile = caFile;
  return settings;
}

/** Reads the token and CA files the settings name. */
export async function connect(settings: Settings): Promise<Connection> {
  const token = "env" in settings.token ? settings.token.env : (await readText(settings.token.file, "token file")).trim();
  if (token === "" || /\s/.test(token)) throw new CliError("the token is empty or contains whitespace; check AGENTBOX_TOKEN / --token-file", EXIT.config);
  const connection: Connection = { server: settings.server, namespace: settings.namespace, token };
  if (settings.caFile !== undefined) connection.ca = await readText(settings.caFile, "CA file");
  return connection;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "error";
    throw new CliError(`cannot read the ${what} ${path} (${code})`, EXIT.config, { cause });
  }
}
