import { randomBytes } from "node:crypto";
import type { z } from "zod";
import type { Credential } from "../crds/spec.js";
import { STUB_FORMATS } from "../crds/spec.js";

export type StubFormat = (typeof STUB_FORMATS)[number];

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE = `${ALNUM}-_`;

// Prefix and length of each real token format, so a client's own format check (length, prefix,
// alphabet) passes on the stub. Bodies are random; the random source is injected for tests.
const SHAPES: Record<StubFormat, (r: RandomChars) => string> = {
  anthropic: (r) => `sk-ant-api03-${r(93, URLSAFE)}AA`,
  openai: (r) => `sk-proj-${r(156, URLSAFE)}`,
  "github-classic": (r) => `ghp_${r(36, ALNUM)}`,
  "github-fine-grained": (r) => `github_pat_${r(22, ALNUM)}_${r(59, ALNUM)}`,
  opaque: (r) => `agentbox_${r(40, ALNUM)}`,
};

export type RandomChars = (length: number, alphabet: string) => string;

/** Uniform random characters from `alphabet` (rejection sampling, so no modulo bias). */
export const cryptoRandomChars: RandomChars = (length, alphabet) => {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
};

/** The token format a credential's stub imitates: its `format`, else inferred from its hosts. */
export function stubFormat(credential: Pick<z.output<typeof Credential>, "format" | "hosts">): StubFormat {
  if (credential.format) return credential.format;
  const hosts = credential.hosts;
  if (hosts.some((h) => h === "api.anthropic.com")) return "anthropic";
  if (hosts.some((h) => h === "api.openai.com")) return "openai";
  if (hosts.some((h) => h === "github.com" || h === "api.github.com" || h === "*.github.com")) return "github-classic";
  return "opaque";
}

export function makeStub(format: StubFormat, random: RandomChars = cryptoRandomChars): string {
  return SHAPES[format](random);
}

/** Whether an existing stub still has the shape its credential's format asks for. */
export function stubMatches(stub: string, format: StubFormat): boolean {
  const sample = makeStub(format, (n) => "a".repeat(n));
  const prefix = sample.slice(0, sample.search(/a/));
  return stub.length === sample.length && stub.startsWith(prefix);
}

/**
 * The stubs a session should hold: existing ones are kept (the agent may have cached them), new
 * credentials or a changed format get a fresh stub, removed credentials lose theirs.
 */
export function ensureStubs(
  existing: Readonly<Record<string, string>>,
  credentials: readonly Pick<z.output<typeof Credential>, "name" | "format" | "hosts">[],
  random: RandomChars = cryptoRandomChars,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of credentials) {
    const format = stubFormat(c);
    const current = existing[c.name];
    out[c.name] = current !== undefined && stubMatches(current, format) ? current : makeStub(format, random);
  }
  return out;
}
