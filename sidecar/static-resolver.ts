// Fixed name → address entries for the sidecar's resolver, from a hosts file (/etc/hosts
// format) or the command line: for air-gapped clusters whose upstreams have no DNS, and for
// tests that start the real sidecar process. The address guard still applies to every address
// dialled (upstream.ts), so an entry cannot open a private range the policy does not allow.
import { isIP } from "node:net";
import { normalizeHost } from "./hosts.js";
import type { ResolvedAddress, Resolver } from "./upstream.js";

export interface StaticEntry {
  host: string;
  address: string;
}

/** Entries of a hosts file: "address name [alias...]" per line, # comments. Throws on a malformed line. Pure. */
export function parseHostsFile(text: string, origin = "hosts file"): StaticEntry[] {
  const entries: StaticEntry[] = [];
  text.split("\n").forEach((raw, index) => {
    const [address, ...names] = (raw.split("#")[0] ?? "").trim().split(/\s+/).filter((field) => field !== "");
    if (address === undefined) return;
    if (isIP(address) === 0 || names.length === 0) throw new Error(`${origin} line ${index + 1}: expected "address name [alias...]"`);
    for (const name of names) {
      const host = normalizeHost(name);
      if (host === undefined) throw new Error(`${origin} line ${index + 1}: "${name}" is not a DNS name`);
      entries.push({ host, address });
    }
  });
  return entries;
}

/**
 * A resolver answering the names listed in `entries` with their addresses (in the order given),
 * and every other name with `fallback`.
 */
export function staticResolver(entries: readonly StaticEntry[], fallback: Resolver): Resolver {
  const table = new Map<string, ResolvedAddress[]>();
  for (const { host, address } of entries) {
    const addresses = table.get(host) ?? [];
    addresses.push({ address, family: isIP(address) === 6 ? 6 : 4 });
    table.set(host, addresses);
  }
  return async (host) => {
    const known = table.get(normalizeHost(host) ?? host);
    return known === undefined ? fallback(host) : known.map((entry) => ({ ...entry }));
  };
}
