// Command-line parsing: argv in, a typed command out, or a usage error that says what to fix.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";

export type GlobalOptions = { server?: string; namespace?: string; tokenFile?: string; caFile?: string };
export type OutputFormat = "table" | "json" | "name";
export type EnvVar = { name: string; value: string };

export type Command =
  | { kind: "help"; topic: string }
  | { kind: "run"; global: GlobalOptions; template?: string; image?: string; name?: string; env: EnvVar[]; keep: boolean; timeoutSeconds?: number; quiet: boolean; command: string[] }
  | { kind: "attach"; global: GlobalOptions; name: string; view: boolean }
  | { kind: "ls"; global: GlobalOptions; output: OutputFormat }
  | { kind: "logs"; global: GlobalOptions; name: string; follow: boolean }
  | { kind: "rm"; global: GlobalOptions; names: string[] }
  | { kind: "templates"; global: GlobalOptions; output: OutputFormat };

type Options = NonNullable<ParseArgsConfig["options"]>;

const GLOBAL_OPTIONS: Options = {
  server: { type: "string", short: "s" },
  namespace: { type: "string", short: "n" },
  "token-file": { type: "string" },
  "ca-file": { type: "string" },
  help: { type: "boolean", short: "h" },
};

const COMMAND_OPTIONS: Record<string, Options> = {
  run: {
    template: { type: "string", short: "t" },
    image: { type: "string", short: "i" },
    name: { type: "string" },
    env: { type: "string", short: "e", multiple: true },
    timeout: { type: "string" },
    keep: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
  },
  attach: { view: { type: "boolean" } },
  ls: { output: { type: "string", short: "o" } },
  logs: { follow: { type: "boolean", short: "f" } },
  rm: {},
  templates: { output: { type: "string", short: "o" } },
};

const ALIASES: Record<string, string> = { list: "ls", delete: "rm", template: "templates" };

// A Kubernetes object name usable as a pod name prefix (DNS-1123 label).
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function usage(command: string, message: string): CliError {
  const hint = command === "main" ? "agentbox --help" : `agentbox ${command} --help`;
  return new CliError(`${message}\nRun "${hint}" for usage.`, EXIT.usage);
}

/** Parses the arguments after `agentbox` (process.argv.slice(2)). */
export function parseCommand(argv: string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    const topic = first === "help" && rest[0] !== undefined ? (ALIASES[rest[0]] ?? rest[0]) : "main";
    return { kind: "help", topic: topic in COMMAND_OPTIONS ? topic : "main" };
  }
  const name = ALIASES[first] ?? first;
  const own = COMMAND_OPTIONS[name];
  if (own === undefined) throw usage("main", `unknown command "${first}"`);

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...own }, allowPositionals: true, strict: true });
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const extra = name === "run" ? ' (put the agent\'s command after "--" so its own options are not read as agentbox\'s)' : "";
    throw usage(name, `${detail}${extra}`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help === true) return { kind: "help", topic: name };
  const global = globalOptions(values);
  const positionals = parsed.positionals;

  switch (name) {
    case "run":
      return parseRun(values, positionals, global);
    case "attach":
    case "logs": {
      const target = singleName(name, positionals);
      return name === "attach" ? { kind: "attach", global, name: target, view: values.view === true } : { kind: "logs", global, name: target, follow: values.follow === true };
    }
    case "rm":
      if (positionals.length === 0) throw usage(name, "name at least one session to delete");
      for (const n of positionals) checkName(name, n);
      return { kind: "rm", global, names: positionals };
    default:
      if (positionals.length > 0) throw usage(name, `unexpected argument "${positionals[0]}"`);
      return { kind: name as "ls" | "templates", global, output: outputFormat(name, values.output) };
  }
}

function globalOptions(values: Record<string, unknown>): GlobalOptions {
  const global: GlobalOptions = {};
  if (typeof values.server === "string") global.server = values.server;
  if (typeof values.namespace === "string") global.namespace = values.namespace;
  if (typeof values["token-file"] === "string") global.tokenFile = values["token-file"];
  if (typeof values["ca-file"] === "string") global.caFile = values["ca-file"];
  return global;
}

function parseRun(values: Record<string, string | boolean | string[] | undefined>, command: string[], global: GlobalOptions): Command {
  const template = values.template as string | undefined;
  const image = values.image as string | undefined;
  if (template === undefined && image === undefined) throw usage("run", "give --template NAME or --image IMAGE");
  if (template !== undefined) checkName("run", template);
  const name = values.name as string | undefined;
  if (name !== undefined) checkName("run", name);
  const env = ((values.env as string[] | undefined) ?? []).map((pair) => parseEnv(pair));
  const run: Command = { kind: "run", global, env, keep: values.keep === true, quiet: values.quiet === true, command };
  if (template !== undefined) run.template = template;
  if (image !== undefined) run.image = image;
  if (name !== undefined) run.name = name;
  if (typeof values.timeout === "string") run.timeoutSeconds = parseDuration(values.timeout);
  return run;
}

function singleName(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw usage(command, positionals.length === 0 ? "name the session" : "name exactly one session");
  return checkName(command, positionals[0] as string);
}

function checkName(command: string, name: string): string {
  if (!NAME.test(name)) throw usage(command, `"${name}" is not a valid name: lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit`);
  return name;
}

function outputFormat(command: string, value: unknown): OutputFormat {
  if (value === undefined) return "table";
  if (value === "table" || value === "json" || value === "name") return value;
  throw usage(command, `--output must be table, json or name, not "${String(value)}"`);
}

/** "NAME=VALUE" → {name, value}; the value may contain "=". */
export function parseEnv(pair: string): EnvVar {
  const at = pair.indexOf("=");
  const name = at < 0 ? pair : pair.slice(0, at);
  if (at < 0 || !ENV_NAME.test(name)) throw usage("run", `--env wants NAME=VALUE with NAME made of letters, digits and "_", not "${pair}"`);
  return { name, value: pair.slice(at + 1) };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** "90" / "90s" / "30m" / "2h" / "1h30m" → seconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)([smh]?)/g)];
  const rebuilt = parts.map((p) => p[0]).join("");
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] || "s"] ?? 1), 0);
  if (parts.length === 0 || rebuilt !== text || seconds <= 0) throw usage("run", `--timeout wants a duration such as 90s, 30m or 1h30m, not "${text}"`);
  return seconds;
}
