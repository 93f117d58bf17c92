// Host names and allow-list patterns. Everything here is pure so it can be table-tested.
//
// A pattern is an exact DNS name ("api.github.com") or a wildcard "*.github.com", which matches
// any name below github.com at any depth but not github.com itself. Names are compared in
// lower case without a trailing dot. Non-ASCII names (IDNA) are rejected rather than converted,
// so a look-alike Unicode name can never match an ASCII pattern.

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Returns the canonical form of a DNS host name, or undefined when it is not a valid one. */
export function normalizeHost(raw: string): string | undefined {
  let host = raw.toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253) return undefined;
  const labels = host.split(".");
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  // An all-numeric last label would make this an IPv4 literal or garbage, not a DNS name.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) return undefined;
  return host;
}

/** Returns the canonical form of an allow-list pattern, or undefined when it is not valid. */
export function normalizePattern(raw: string): string | undefined {
  if (raw.startsWith("*.")) {
    const base = normalizeHost(raw.slice(2));
    return base === undefined ? undefined : `*.${base}`;
  }
  return normalizeHost(raw);
}

/** True when the (already normalized) host matches the (already normalized) pattern. */
export function matchesPattern(host: string, pattern: string): boolean {
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

/** True when the host matches any of the patterns. */
export function matchesAny(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesPattern(host, pattern));
}
