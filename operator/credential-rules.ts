// A Secret's own allowed-hosts rule (annotation agentbox.dev/allowed-hosts, ADR 0004): the
// operator refuses any credential reading the Secret whose hosts are not all covered by it, from
// a template or a session alike. Pure, so the decisions are table-tested; the look-ups are in
// secret-lookup.ts.
import { ALLOWED_HOSTS_ANNOTATION } from "../crds/annotations.js";
import type { EffectiveSpec } from "../crds/merge.js";
import { normalizePattern } from "../sidecar/hosts.js";
import type { SecretRef } from "./secret-refs.js";

/** What the operator learnt about one credential Secret from its metadata (never its data). */
export type SecretLookup = { state: "found"; allowedHosts: string | undefined } | { state: "missing" };

/**
 * The patterns of an allowed-hosts annotation. An entry that is not a host pattern is dropped:
 * it can only narrow the rule, never widen it (an annotation with no valid entry allows nothing).
 */
export function parseAllowedHosts(annotation: string): string[] {
  return annotation
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => normalizePattern(p))
    .filter((p): p is string => p !== undefined);
}

/**
 * Whether the allowed pattern covers every host the credential pattern can match, with the
 * matching `hosts` uses: `*.example.com` covers `a.example.com`, `*.a.example.com` and itself,
 * never the apex `example.com`; an exact name covers only itself.
 */
export function patternCovers(allowed: string, host: string): boolean {
  if (allowed === host) return true;
  if (!allowed.startsWith("*.")) return false;
  const suffix = allowed.slice(1);
  return (host.startsWith("*.") ? host.slice(1) : host).endsWith(suffix);
}

/** The credential's hosts that no allowed pattern covers. */
export function hostsOutside(hosts: readonly string[], allowed: readonly string[]): string[] {
  return hosts.filter((h) => {
    const host = normalizePattern(h);
    return host === undefined || !allowed.some((a) => patternCovers(a, host));
  });
}

export interface CredentialVerdict {
  /** Credentials whose Secret's rule does not cover their hosts: one message each. */
  notAllowed: string[];
  /** References whose Secret does not exist: the rule cannot be checked yet. */
  missing: SecretRef[];
}

/** Checks each Secret-backed credential of a spec against what its Secret's metadata says. */
export function checkCredentialSecrets(spec: Pick<EffectiveSpec, "credentials">, lookups: ReadonlyMap<string, SecretLookup>): CredentialVerdict {
  const verdict: CredentialVerdict = { notAllowed: [], missing: [] };
  for (const c of spec.credentials ?? []) {
    const ref = c.source.secretKeyRef;
    if (!ref) continue;
    const found = lookups.get(ref.name);
    if (found?.state === "missing") verdict.missing.push({ credential: c.name, name: ref.name, key: ref.key });
    if (found?.state !== "found" || found.allowedHosts === undefined) continue; // no rule: any hosts
    const allowed = parseAllowedHosts(found.allowedHosts);
    const outside = hostsOutside(c.hosts, allowed);
    if (outside.length > 0) {
      verdict.notAllowed.push(
        `credential ${c.name}: Secret ${ref.name} may be sent only to ${allowed.length === 0 ? "no host" : allowed.join(", ")} (its annotation ${ALLOWED_HOSTS_ANNOTATION}), not to ${outside.join(", ")}; remove ${outside.length === 1 ? "that host" : "those hosts"} from the credential's hosts or ask the Secret's owner to allow ${outside.length === 1 ? "it" : "them"}`,
      );
    }
  }
  return verdict;
}
