// Request-side substitution decisions: where a stub may become the real value. Pure.
import { ProxyError } from "./errors.js";
import { matchesAny } from "./hosts.js";
import type { BoundCredential } from "./policy.js";

export interface SubstitutionInput {
  host: string; // verified destination
  tls: boolean; // whether the upstream leg is TLS
  target: string; // request target (path and query) as the client sent it
  headers: ReadonlyArray<readonly [string, string]>; // lower-case names, in order
  credentials: readonly BoundCredential[]; // every configured credential
}

export interface SubstitutionResult {
  headers: Array<[string, string]>;
  used: string[]; // names of credentials swapped in
}

/**
 * Swaps stubs for real values in the header names each credential allows, if the host is
 * bound to it and the upstream leg is TLS. A stub on its way to any other host is refused with
 * a ProxyError naming the credential (never a value).
 */
export function substituteHeaders(input: SubstitutionInput): SubstitutionResult {
  for (const credential of input.credentials) {
    if (input.target.includes(credential.stub)) assertMayCarry(credential, input, "the URL");
  }
  const used = new Set<string>();
  const headers = input.headers.map(([name, value]): [string, string] => [name, substituteOne(name, value, input, used)]);
  return { headers, used: [...used] };
}

function substituteOne(name: string, value: string, input: SubstitutionInput, used: Set<string>): string {
  const basic = decodeBasic(value);
  let result = value;
  for (const credential of input.credentials) {
    const inPlain = value.includes(credential.stub);
    const inBasic = basic?.includes(credential.stub) === true;
    if (!inPlain && !inBasic) continue;
    assertMayCarry(credential, input, `the ${name} header`);
    if (!credential.headers.has(name)) continue; // harmless: the upstream just sees the stub
    if (!input.tls) throw new ProxyError("forbidden", `credential "${credential.name}" is only sent over TLS; use https://${input.host}`);
    used.add(credential.name);
    if (inBasic && basic !== undefined) {
      result = `Basic ${Buffer.from(basic.split(credential.stub).join(credential.secret), "utf8").toString("base64")}`;
    } else {
      result = result.split(credential.stub).join(credential.secret);
    }
  }
  return result;
}

function assertMayCarry(credential: BoundCredential, input: SubstitutionInput, where: string): void {
  if (!matchesAny(input.host, credential.hosts)) {
    throw new ProxyError(
      "forbidden",
      `the stub of credential "${credential.name}" was sent in ${where} towards ${input.host}, which it is not bound to (bound hosts: ${credential.hosts.join(", ")})`,
    );
  }
}

/** The decoded user:password of a Basic authorization value, or undefined. */
export function decodeBasic(value: string): string | undefined {
  // Most values are not Basic credentials: skip the expression unless it starts with "b"/"B".
  if ((value.charCodeAt(0) | 0x20) !== 0x62) return undefined;
  const match = /^basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(value);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  return decoded.includes(":") ? decoded : undefined;
}
