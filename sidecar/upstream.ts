// The edge towards upstreams: one DNS resolution per destination, the address guard applied to
// the address actually dialled, and a lookup function that makes the socket dial exactly it.
import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import { isIP, type BlockList } from "node:net";
import { refusedAddress } from "./address-guard.js";
import { ProxyError } from "./errors.js";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses. Injectable: tests map their names to 127.0.0.1. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo), in the order it returns. */
export const systemResolver: Resolver = async (host) => {
  const addresses = await dnsLookup(host, { all: true, verbatim: true });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** Resolves once and returns the address to dial, refusing guarded addresses. */
export async function resolveAllowed(host: string, resolver: Resolver, allowed: BlockList): Promise<ResolvedAddress> {
  let address: ResolvedAddress | undefined;
  const family = isIP(host);
  if (family !== 0) {
    address = { address: host, family: family === 6 ? 6 : 4 };
  } else {
    try {
      address = (await resolver(host))[0];
    } catch (cause) {
      throw new ProxyError("upstream", `cannot resolve ${host}`, { cause });
    }
    if (address === undefined) throw new ProxyError("upstream", `cannot resolve ${host}: no addresses`);
  }
  const refusal = refusedAddress(address.address, allowed);
  if (refusal !== undefined) throw new ProxyError("forbidden", `${host} resolves to ${refusal}`);
  return address;
}

/** A lookup that answers every query with the one address already resolved and checked. */
export function fixedLookup(resolved: ResolvedAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    if (options.all === true) callback(null, [{ address: resolved.address, family: resolved.family }]);
    else callback(null, resolved.address, resolved.family);
  }) as LookupFunction;
}
