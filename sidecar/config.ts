// The sidecar's configuration file: its schema (imported by the operator to build the file)
// and its loader. Stubs appear inline because they are not secrets; real values never do.
// Also the process's start-up options (command line), read once into a validated object.
import { readFile } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import { parseArgs } from "node:util";
import { en } from "zod/locales";
import * as z from "zod/mini";
import { normalizeHost, normalizePattern } from "./hosts.js";
import { VaultSettings } from "./vault/settings.js";

// zod/mini rather than zod: the same validation at about a third of the sidecar's memory for the
// schema library (an idle sidecar is measured against a 60 MB target, bench:sidecar). Mini ships
// no default messages; the English ones are passed to each parse (parseSidecarConfig) instead of
// being set globally.
const englishMessages = en().localeError;

const HostPattern = z
  .pipe(
    z.string(),
    z.transform((raw: string, ctx) => {
      const pattern = normalizePattern(raw);
      if (pattern === undefined) {
        ctx.issues.push({
          code: "custom",
          input: raw,
          message: `"${raw}" is not a DNS name or "*.name" wildcard (ASCII letters, digits, hyphens; no IP literals)`,
        });
        return z.NEVER;
      }
      return pattern;
    }),
  )
  .check(z.describe('A DNS name ("api.github.com") or a wildcard ("*.github.com": any name below github.com, not github.com itself). Case-insensitive; a trailing dot is ignored.'));

const Cidr = z
  .string()
  .check(
    z.refine(isCidr, { error: 'expected an address range such as "10.0.0.0/8", "fd00::/8" or a single address' }),
    z.describe('An IPv4 or IPv6 address range in CIDR form ("10.0.0.0/8") or a single address.'),
  );

const HeaderName = z.string().check(z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: "expected an HTTP header name" }), z.toLowerCase());

export const EgressConfig = z
  .strictObject({
    allow: z
      ._default(z.array(HostPattern), [])
      .check(z.describe("allow: host names or *. wildcards the agent may reach. Hosts bound to a credential are allowed too. Everything else is refused. Default: [] (only credential hosts).")),
    allowPrivate: z
      ._default(z.array(Cidr), [])
      .check(z.describe("allowPrivate: address ranges that may be dialled although they are loopback, link-local, metadata or private. Default: [] (all such addresses refused).")),
  })
  .check(z.describe("egress: where the agent may connect."));

export const SecretSource = z
  .union([
    z.strictObject({
      file: z.strictObject({
        path: z.string().check(z.minLength(1), z.describe("path: file holding the real value (a mounted Kubernetes Secret key, or a local file). Surrounding whitespace is trimmed.")),
      }),
    }),
    z.strictObject({
      vault: z.strictObject({
        path: z.string().check(z.minLength(1), z.describe("path: Vault KV path, e.g. kv/data/agents/anthropic.")),
        key: z.string().check(z.minLength(1), z.describe("key: field of the secret holding the value.")),
      }),
    }),
  ])
  .check(z.describe("source: where the real value is read from: {file: {path}} or {vault: {path, key}}. Required."));

export const Credential = z.strictObject({
  name: z
    .string()
    .check(
      z.regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: "expected a lower-case DNS label such as \"anthropic\"" }),
      z.describe("name: identifies the credential in audit records and metrics. Required, unique."),
    ),
  stub: z
    .string()
    .check(
      z.minLength(16, { error: "a stub must be at least 16 characters so it cannot occur by chance" }),
      z.regex(/^[\x21-\x7e]+$/, { error: "a stub must be printable ASCII without spaces" }),
      z.describe("stub: the placeholder the agent holds; replaced by the real value on the wire. Required, unique."),
    ),
  hosts: z
    .array(HostPattern)
    .check(
      z.minLength(1),
      z.describe("hosts: the only destinations towards which the stub is swapped for the real value. Required, at least one."),
    ),
  inject: z
    ._default(
      z.strictObject({
        headers: z
          ._default(z.array(HeaderName).check(z.minLength(1)), ["authorization"])
          .check(z.describe('headers: request header names in which the stub may be replaced (Basic auth is decoded and re-encoded). Default: ["authorization"].')),
        body: z._default(z.boolean(), false).check(z.describe("body: also replace the stub in request bodies that are not content-encoded. Default: false.")),
      }),
      { headers: ["authorization"], body: false },
    )
    .check(z.describe("inject: where in a request the stub may be replaced.")),
  source: SecretSource,
});

export const SidecarConfig = z
  .strictObject({
    egress: z._default(EgressConfig, { allow: [], allowPrivate: [] }),
    credentials: z._default(z.array(Credential), []).check(z.describe("credentials: stub→secret bindings. Default: [].")),
    caDir: z
      ._default(z.string().check(z.minLength(1)), "/var/run/agentbox/ca")
      .check(z.describe("caDir: directory where the per-pod CA certificate is written as ca.crt for the agent to trust. Default: /var/run/agentbox/ca.")),
    upstreamCaFile: z
      .optional(z.string().check(z.minLength(1)))
      .check(z.describe("upstreamCaFile: PEM file of extra roots trusted when verifying upstream TLS, besides the system roots. Optional.")),
    vault: z.optional(VaultSettings),
  })
  .check(
    z.superRefine((config, ctx) => {
      const names = new Set<string>();
      const stubs = new Set<string>();
      config.credentials.forEach((credential, index) => {
        if (names.has(credential.name)) {
          ctx.addIssue({ code: "custom", path: ["credentials", index, "name"], message: `duplicate credential name "${credential.name}"` });
        }
        names.add(credential.name);
        // A stub that contains another would be ambiguous to substitute.
        for (const other of stubs) {
          if (other.includes(credential.stub) || credential.stub.includes(other)) {
            ctx.addIssue({ code: "custom", path: ["credentials", index, "stub"], message: `stub of "${credential.name}" overlaps another credential's stub` });
          }
        }
        stubs.add(credential.stub);
        if ("vault" in credential.source && config.vault === undefined) {
          ctx.addIssue({ code: "custom", path: ["vault"], message: `credential "${credential.name}" reads from Vault, so the vault connection settings are required` });
        }
      });
    }),
    z.describe("The sidecar configuration file."),
  );

export type SidecarConfig = z.infer<typeof SidecarConfig>;
export type SidecarConfigInput = z.input<typeof SidecarConfig>;
export type Credential = z.infer<typeof Credential>;
export type SecretSource = z.infer<typeof SecretSource>;

function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (address === undefined || rest.length > 0) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^[0-9]{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (bits > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(address, bits, family === 4 ? "ipv4" : "ipv6");
    return true;
  } catch {
    return false;
  }
}

/** Validates an already-parsed value; throws an Error listing every problem. */
export function parseSidecarConfig(value: unknown, origin = "sidecar config"): SidecarConfig {
  const result = SidecarConfig.safeParse(value, { error: englishMessages });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(`${origin} is invalid:\n${problems.join("\n")}`);
  }
  return result.data;
}

/** Reads and validates the JSON configuration file at `path`. */
export async function loadSidecarConfig(path: string): Promise<SidecarConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new Error(`cannot read sidecar config ${path}`, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Error(`sidecar config ${path} is not valid JSON`, { cause });
  }
  return parseSidecarConfig(value, `sidecar config ${path}`);
}

/** Where a listener binds: an IP literal and a port; port 0 picks a free one. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Where each listener binds unless told otherwise. The proxy listeners bind loopback: the
 * capture's REDIRECT sends the agent's packets to 127.0.0.1 (::1 for IPv6), so nothing outside
 * the pod can reach them (DESIGN invariant 14). The admin port binds every address because the
 * kubelet probes it from the node.
 */
export const DEFAULT_LISTEN = {
  explicit: { host: "127.0.0.1", port: 15001 },
  transparentTls: { host: "127.0.0.1", port: 15002 },
  transparentHttp: { host: "127.0.0.1", port: 15003 },
  admin: { host: "0.0.0.0", port: 15021 },
} as const;

/** The DNS responder's port on the redirect targets of both families (::1 only where it exists). */
export const DEFAULT_DNS_PORT = 15053;

const ListenAddressText = z.pipe(
  z.string(),
  z.transform((raw: string, ctx): ListenAddress => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(raw);
    const host = match?.[1] ?? match?.[2] ?? "";
    const port = Number(match?.[3]);
    if (match === null || isIP(host) === 0 || port > 65535) {
      ctx.issues.push({ code: "custom", input: raw, message: `expected ip:port or [ipv6]:port (port 0 picks a free one), got "${raw}"` });
      return z.NEVER;
    }
    return { host, port };
  }),
);

const ResolveEntry = z.pipe(
  z.string(),
  z.transform((raw: string, ctx): { host: string; address: string } => {
    const [name = "", address = "", ...rest] = raw.split("=");
    const host = normalizeHost(name);
    if (host === undefined || isIP(address) === 0 || rest.length > 0) {
      ctx.issues.push({ code: "custom", input: raw, message: `expected name=address, got "${raw}"` });
      return z.NEVER;
    }
    return { host, address };
  }),
);

// A default skips the parse: it is the parsed value already. The description ends with the
// default, taken from the value itself so --help cannot drift from it.
const listenOption = (fallback: ListenAddress, description: string): z.ZodMiniDefault<typeof ListenAddressText> =>
  z._default(ListenAddressText, { ...fallback }).check(z.describe(`${description} Default: ${showAddress(fallback)}.`));

function showAddress(address: ListenAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The sidecar process's command line (sidecar/main.ts), validated once at start-up. */
export const StartupOptions = z
  .strictObject({
    config: z.string({ error: "--config <file> is required (see --help)" }).check(z.minLength(1), z.describe("config: the configuration file (SidecarConfig, JSON); reloaded on change. Required.")),
    explicit: listenOption(DEFAULT_LISTEN.explicit, "explicit: the explicit HTTP proxy (CONNECT and absolute-form)."),
    "transparent-tls": listenOption(DEFAULT_LISTEN.transparentTls, "transparent-tls: captured TLS (destination from SNI); also on [::1] at the same port where IPv6 is up."),
    "transparent-http": listenOption(DEFAULT_LISTEN.transparentHttp, "transparent-http: captured plain HTTP (destination from Host); also on [::1] like transparent-tls."),
    admin: listenOption(DEFAULT_LISTEN.admin, "admin: /healthz and /readyz for everyone, details and /metrics for the pod only."),
    dns: z.optional(ListenAddressText).check(z.describe(`dns: the DNS responder, UDP and TCP. Default: 127.0.0.1:${DEFAULT_DNS_PORT} and [::1]:${DEFAULT_DNS_PORT}.`)),
    "explicit-only": z._default(z.boolean(), false).check(z.describe("explicit-only: start no transparent listeners and no DNS responder (no capture in front of this sidecar). Default: false.")),
    hosts: z.optional(z.string().check(z.minLength(1))).check(z.describe("hosts: a hosts file (/etc/hosts format) whose names resolve to its addresses instead of DNS. Optional.")),
    resolve: z._default(z.array(ResolveEntry), []).check(z.describe("resolve: name=address resolved without DNS (repeatable); comes before the hosts file. Default: none.")),
  })
  .check(
    // Silently ignoring it would leave a caller waiting for a DNS port that never comes.
    z.refine((options) => !(options["explicit-only"] && options.dns !== undefined), { error: "has no effect with --explicit-only, which starts no DNS responder", path: ["dns"] }),
  );

export type StartupOptions = z.infer<typeof StartupOptions>;

/** Validates the parsed command line; throws an Error listing every problem. */
export function parseStartupOptions(values: unknown): StartupOptions {
  const result = StartupOptions.safeParse(values, { error: englishMessages });
  if (!result.success) {
    // The option, not the index of a repeated one: the message quotes the value itself.
    const problems = result.error.issues.map((issue) => `  ${issue.path.length === 0 ? "" : `--${String(issue.path[0])}: `}${issue.message}`);
    throw new Error(`invalid options:\n${problems.join("\n")}`);
  }
  return result.data;
}

type OptionName = keyof typeof StartupOptions.shape;

/** How each option is written: the placeholder of its argument in --help (none: a switch), and whether it repeats. */
const FLAGS: Record<OptionName, { value?: string; multiple?: true }> = {
  config: { value: "<file>" },
  explicit: { value: "<ip:port>" },
  "transparent-tls": { value: "<ip:port>" },
  "transparent-http": { value: "<ip:port>" },
  admin: { value: "<ip:port>" },
  dns: { value: "<ip:port>" },
  "explicit-only": {},
  hosts: { value: "<file>" },
  resolve: { value: "<name=address>", multiple: true },
};

/**
 * Reads the command line (without node and the script) into validated options, or "help" for
 * --help. Throws an Error naming every problem, unknown options included.
 */
export function readCommandLine(args: string[]): StartupOptions | "help" {
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, flag]) => [name, flag.value === undefined ? { type: "boolean" as const } : { type: "string" as const, multiple: flag.multiple === true }]),
  );
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: { ...options, help: { type: "boolean" } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new Error(`invalid options:\n  ${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  if (values.help === true) return "help";
  const { help: _help, ...given } = values;
  return parseStartupOptions(given);
}

/** The options part of --help, from the schema's descriptions (defaults included). */
export function startupOptionsHelp(): string {
  const lines = Object.entries(FLAGS).map(([name, flag]) => {
    const description = z.globalRegistry.get(StartupOptions.shape[name as OptionName])?.description ?? "";
    return `  --${name}${flag.value === undefined ? "" : ` ${flag.value}`}\n      ${description.replace(/^[a-z-]+: /, "")}`;
  });
  return [...lines, "  --help\n      this text."].join("\n");
}
