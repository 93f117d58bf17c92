// The sidecar's configuration file: its schema (imported by the operator to build the file)
// and its loader. Stubs appear inline because they are not secrets; real values never do.
import { readFile } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import { z } from "zod";
import { normalizePattern } from "./hosts.js";
import { VaultSettings } from "./vault/settings.js";

const HostPattern = z
  .string()
  .transform((raw, ctx) => {
    const pattern = normalizePattern(raw);
    if (pattern === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `"${raw}" is not a DNS name or "*.name" wildcard (ASCII letters, digits, hyphens; no IP literals)`,
      });
      return z.NEVER;
    }
    return pattern;
  })
  .describe('A DNS name ("api.github.com") or a wildcard ("*.github.com": any name below github.com, not github.com itself). Case-insensitive; a trailing dot is ignored.');

const Cidr = z
  .string()
  .refine(isCidr, { message: 'expected an address range such as "10.0.0.0/8", "fd00::/8" or a single address' })
  .describe('An IPv4 or IPv6 address range in CIDR form ("10.0.0.0/8") or a single address.');

const HeaderName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: "expected an HTTP header name" })
  .transform((name) => name.toLowerCase());

export const EgressConfig = z
  .object({
    allow: z
      .array(HostPattern)
      .default([])
      .describe("allow: host names or *. wildcards the agent may reach. Hosts bound to a credential are allowed too. Everything else is refused. Default: [] (only credential hosts)."),
    allowPrivate: z
      .array(Cidr)
      .default([])
      .describe("allowPrivate: address ranges that may be dialled although they are loopback, link-local, metadata or private. Default: [] (all such addresses refused)."),
  })
  .strict()
  .describe("egress: where the agent may connect.");

export const SecretSource = z
  .union([
    z
      .object({
        file: z
          .object({ path: z.string().min(1).describe("path: file holding the real value (a mounted Kubernetes Secret key, or a local file). Surrounding whitespace is trimmed.") })
          .strict(),
      })
      .strict(),
    z
      .object({
        vault: z
          .object({
            path: z.string().min(1).describe("path: Vault KV path, e.g. kv/data/agents/anthropic."),
            key: z.string().min(1).describe("key: field of the secret holding the value."),
          })
          .strict(),
      })
      .strict(),
  ])
  .describe("source: where the real value is read from: {file: {path}} or {vault: {path, key}}. Required.");

export const Credential = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: "expected a lower-case DNS label such as \"anthropic\"" })
      .describe("name: identifies the credential in audit records and metrics. Required, unique."),
    stub: z
      .string()
      .min(16, { message: "a stub must be at least 16 characters so it cannot occur by chance" })
      .regex(/^[\x21-\x7e]+$/, { message: "a stub must be printable ASCII without spaces" })
      .describe("stub: the placeholder the agent holds; replaced by the real value on the wire. Required, unique."),
    hosts: z
      .array(HostPattern)
      .min(1)
      .describe("hosts: the only destinations towards which the stub is swapped for the real value. Required, at least one."),
    inject: z
      .object({
        headers: z
          .array(HeaderName)
          .min(1)
          .default(["authorization"])
          .describe('headers: request header names in which the stub may be replaced (Basic auth is decoded and re-encoded). Default: ["authorization"].'),
        body: z.boolean().default(false).describe("body: also replace the stub in request bodies that are not content-encoded. Default: false."),
      })
      .strict()
      .default({ headers: ["authorization"], body: false })
      .describe("inject: where in a request the stub may be replaced."),
    source: SecretSource,
  })
  .strict();

export const SidecarConfig = z
  .object({
    egress: EgressConfig.default({ allow: [], allowPrivate: [] }),
    credentials: z.array(Credential).default([]).describe("credentials: stub→secret bindings. Default: []."),
    caDir: z
      .string()
      .min(1)
      .default("/var/run/agentbox/ca")
      .describe("caDir: directory where the per-pod CA certificate is written as ca.crt for the agent to trust. Default: /var/run/agentbox/ca."),
    upstreamCaFile: z
      .string()
      .min(1)
      .optional()
      .describe("upstreamCaFile: PEM file of extra roots trusted when verifying upstream TLS, besides the system roots. Optional."),
    vault: VaultSettings.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
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
  })
  .describe("The sidecar configuration file.");

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
  const result = SidecarConfig.safeParse(value);
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
