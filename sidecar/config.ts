// The sidecar's configuration file: its schema (imported by the operator to build the file)
// and its loader. Stubs appear inline because they are not secrets; real values never do.
import { readFile } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import { en } from "zod/locales";
import * as z from "zod/mini";
import { normalizePattern } from "./hosts.js";
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
