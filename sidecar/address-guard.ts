// The resolved-address guard: the address about to be dialled (after the one DNS resolution)
// must not be loopback, link-local, cloud metadata, private or otherwise special unless the
// configuration allows its range explicitly.
import { BlockList, isIP } from "node:net";

const FORBIDDEN_V4: Array<[string, number]> = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, includes 169.254.169.254 metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved and broadcast
];

const FORBIDDEN_V6: Array<[string, number]> = [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48], // local-use NAT64
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
  ["fd00:ec2::254", 128], // AWS metadata over IPv6 (also inside fc00::/7)
];

function buildForbidden(): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of FORBIDDEN_V4) list.addSubnet(address, prefix, "ipv4");
  for (const [address, prefix] of FORBIDDEN_V6) list.addSubnet(address, prefix, "ipv6");
  return list;
}

const forbidden = buildForbidden();

/** Builds the list of explicitly allowed ranges from "a.b.c.d/n", "v6/n" or single addresses. */
export function allowListFrom(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address = "", prefix] = range.split("/");
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d in any spelling) as its IPv4 form; others unchanged. */
export function unmapAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  // The URL parser canonicalizes every spelling to the compressed hex form.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (hex?.[1] === undefined || hex[2] === undefined) return address;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Why an address may not be dialled, or undefined when it may. */
export function refusedAddress(address: string, allowed: BlockList): string | undefined {
  const plain = unmapAddress(address);
  const family = isIP(plain);
  if (family === 0) return `"${address}" is not an IP address`;
  const type = family === 4 ? "ipv4" : "ipv6";
  if (allowed.check(plain, type) || allowed.check(address, isIP(address) === 4 ? "ipv4" : "ipv6")) return undefined;
  if (forbidden.check(plain, type)) return `${address} is a loopback, link-local, metadata or private address (allow its range in egress.allowPrivate to permit it)`;
  return undefined;
}
