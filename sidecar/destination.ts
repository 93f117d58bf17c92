// Destination verification: every name the client gives for where a request goes (CONNECT
// target, TLS SNI, Host header, absolute-form URL authority) must be the same name, or the
// request is refused. Otherwise a client could make the proxy swap a credential for one host
// while the bytes go to another.
import { isIP } from "node:net";
import { ProxyError } from "./errors.js";
import { normalizeHost } from "./hosts.js";

export interface Authority {
  host: string; // normalized DNS name, or an IP literal without brackets
  port: number | undefined;
}

/** Longest authority worth remembering: a DNS name (253) with a port. */
const MEMO_MAX_LENGTH = 300;
const MEMO_ENTRIES = 256;
const memo = new Map<string, Readonly<Authority> | null>();

/**
 * Parses "host", "host:port" or "[v6]:port"; undefined when malformed. Results are remembered
 * (a bounded map, emptied when full): every request names its destination two or three times
 * (CONNECT target, SNI, Host), always the same few names, and the IP-literal and label checks
 * were a few per cent of the sidecar's CPU per keep-alive request. The result is frozen.
 */
export function parseAuthority(raw: string): Readonly<Authority> | undefined {
  const known = memo.get(raw);
  if (known !== undefined) return known ?? undefined;
  const parsed = parseAuthorityOnce(raw);
  if (raw.length <= MEMO_MAX_LENGTH) {
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    memo.set(raw, parsed === undefined ? null : Object.freeze(parsed));
  }
  return parsed;
}

function parseAuthorityOnce(raw: string): Authority | undefined {
  let hostPart: string;
  let portPart: string | undefined;
  if (raw.startsWith("[")) {
    const end = raw.indexOf("]");
    if (end < 0) return undefined;
    hostPart = raw.slice(1, end);
    const rest = raw.slice(end + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
    portPart = rest === "" ? undefined : rest.slice(1);
    if (isIP(hostPart) !== 6) return undefined;
  } else {
    const colon = raw.lastIndexOf(":");
    hostPart = colon < 0 ? raw : raw.slice(0, colon);
    portPart = colon < 0 ? undefined : raw.slice(colon + 1);
  }
  let port: number | undefined;
  if (portPart !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portPart)) return undefined;
    port = Number(portPart);
    if (port < 1 || port > 65535) return undefined;
  }
  if (isIP(hostPart) !== 0) return { host: hostPart, port };
  const host = normalizeHost(hostPart);
  return host === undefined ? undefined : { host, port };
}

export interface DestinationClaims {
  connect?: string | undefined; // CONNECT request target
  sni?: string | undefined; // TLS ClientHello server_name
  host?: string | undefined; // Host header
  absolute?: string | undefined; // authority of an absolute-form request target
  defaultPort: number; // 443 inside TLS, 80 for plain HTTP
}

export interface Destination {
  host: string;
  port: number;
}

/**
 * Returns the one destination all present claims agree on, or throws a ProxyError.
 * At least one of connect/host/absolute must be present; SNI alone names no port.
 */
export function verifyDestination(claims: DestinationClaims): Destination {
  const named: Array<[string, Readonly<Authority>]> = [];
  for (const [label, raw] of [
    ["CONNECT target", claims.connect],
    ["absolute-form URL", claims.absolute],
    ["Host header", claims.host],
    ["TLS SNI", claims.sni],
  ] as const) {
    if (raw === undefined) continue;
    const authority = parseAuthority(raw);
    if (authority === undefined) throw new ProxyError("bad-request", `the ${label} "${printable(raw)}" is not a valid host name`);
    if (label === "TLS SNI" && authority.port !== undefined) throw new ProxyError("bad-request", "the TLS SNI carries a port");
    named.push([label, authority]);
  }
  const first = named[0];
  if (first === undefined || (named.length === 1 && first[0] === "TLS SNI")) {
    throw new ProxyError("bad-request", "the request does not name its destination (no Host header)");
  }
  const port = first[1].port ?? claims.defaultPort;
  for (const [label, authority] of named.slice(1)) {
    if (authority.host !== first[1].host) {
      throw new ProxyError("misdirected", `the ${label} (${authority.host}) does not match the ${first[0]} (${first[1].host})`);
    }
    if (authority.port !== undefined && authority.port !== port) {
      throw new ProxyError("misdirected", `the ${label} port ${authority.port} does not match the ${first[0]} port ${port}`);
    }
  }
  return { host: first[1].host, port };
}

function printable(raw: string): string {
  return raw.replace(/[^\x20-\x7e]/g, "?").slice(0, 100);
}
