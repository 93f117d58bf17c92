// The platform's bound on private egress (chart value egress.allowPrivateBound, ADR 0004): a
// session's egress.allowPrivate (its template's included) may only name blocks inside it. Pure,
// so the decisions are table-tested; addresses are checked with net.isIP and net.BlockList.
import { BlockList, isIP } from "node:net";

export interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** Parses `address/prefix`, or undefined when it is not a CIDR block. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf("/");
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || !/^[0-9]{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/**
 * Whether every address of `inner` is in `outer`: same family, a prefix at least as long, and
 * inner's address inside outer (then inner's whole block is, since it shares outer's prefix).
 */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.prefix < outer.prefix) return false;
  const list = new BlockList();
  list.addSubnet(outer.address, outer.prefix, outer.family);
  return list.check(inner.address, inner.family);
}

/** The blocks of `ranges` not inside any block of `bound` (unparsable ones included), in order. */
export function outsideBound(ranges: readonly string[], bound: readonly string[]): string[] {
  const outer = bound.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  return ranges.filter((r) => {
    const inner = parseCidr(r);
    return inner === undefined || !outer.some((o) => cidrWithin(inner, o));
  });
}

/** The message of a refused allowPrivate: which blocks, and what the platform allows. */
export function egressRefusal(outside: readonly string[], bound: readonly string[]): string {
  return `egress.allowPrivate ${outside.join(", ")} ${outside.length === 1 ? "is" : "are"} outside the private ranges this platform lets sessions open (${bound.length === 0 ? "none" : bound.join(", ")}; chart value egress.allowPrivateBound, env AGENTBOX_ALLOW_PRIVATE_BOUND): remove ${outside.length === 1 ? "it" : "them"} from the session (or its template) or ask the platform team to widen the bound`;
}
