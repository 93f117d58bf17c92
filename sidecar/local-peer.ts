// Who is on the other end of a downstream connection: this pod (loopback, or one of the pod's
// own addresses, which is the source of every connection the capture redirects) or someone
// outside it. Only the pod may use the proxy listeners or read the admin port's details
// (DESIGN invariant 14).
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** The address without an IPv4-mapped IPv6 prefix ("::ffff:127.0.0.1" is 127.0.0.1). */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** True for 127.0.0.0/8 and ::1 (also IPv4-mapped). Pure. */
export function isLoopback(address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  return family !== 0 && loopback.check(plain, family === 6 ? "ipv6" : "ipv4");
}

/** This namespace's own interface addresses, without any zone suffix. */
function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) own.add(entry.address.split("%")[0] ?? entry.address);
  }
  return own;
}

/**
 * Tells the pod's own peers from outside ones. The interface addresses are read once and again
 * only when an unknown peer arrives (at most once a second), so a pod IP assigned after start
 * is still recognised without a system call per connection.
 */
export class LocalPeers {
  private own: Set<string>;
  private readAt = Date.now();
  private readonly read: () => Set<string>;

  constructor(read: () => Set<string> = ownAddresses) {
    this.read = read;
    this.own = read();
  }

  isLocal(address: string | undefined): boolean {
    if (address === undefined) return false;
    const plain = unmapped(address);
    if (isLoopback(plain) || this.own.has(plain)) return true;
    if (Date.now() - this.readAt < 1000) return false;
    this.own = this.read();
    this.readAt = Date.now();
    return this.own.has(plain);
  }
}
