// HTTP/1.1 framing rules for a proxy: which headers never cross it and which requests are too
// ambiguous to forward. Pure.

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

export type HeaderList = Array<[string, string]>;

/** Pairs from Node's rawHeaders with lower-case names. */
export function headerList(rawHeaders: readonly string[]): HeaderList {
  const list: HeaderList = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    list.push([(rawHeaders[index] ?? "").toLowerCase(), rawHeaders[index + 1] ?? ""]);
  }
  return list;
}

/**
 * Drops hop-by-hop headers and any header the Connection header names. With `upgrade`, keeps
 * `Connection: upgrade` and `Upgrade` so a WebSocket handshake can pass.
 */
export function endToEndHeaders(headers: HeaderList, options: { upgrade?: boolean } = {}): HeaderList {
  const named = new Set(
    headers
      .filter(([name]) => name === "connection")
      .flatMap(([, value]) => value.split(","))
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== "" && token !== "upgrade"),
  );
  const kept = headers.filter(([name]) => !HOP_BY_HOP.has(name) && !named.has(name));
  if (options.upgrade === true) {
    const upgrade = headers.find(([name]) => name === "upgrade");
    if (upgrade !== undefined) kept.push(["connection", "upgrade"], ["upgrade", upgrade[1]]);
  }
  return kept;
}

/** Why a request's framing is refused, or undefined when it is unambiguous. */
export function framingProblem(headers: HeaderList): string | undefined {
  const lengths = headers.filter(([name]) => name === "content-length").map(([, value]) => value.trim());
  const encodings = headers.filter(([name]) => name === "transfer-encoding").map(([, value]) => value.trim().toLowerCase());
  if (lengths.length > 0 && encodings.length > 0) return "a request may not carry both Content-Length and Transfer-Encoding";
  if (encodings.length > 1 || (encodings.length === 1 && encodings[0] !== "chunked")) return 'the only Transfer-Encoding accepted is "chunked"';
  if (new Set(lengths).size > 1 || lengths.some((value) => !/^[0-9]{1,15}$/.test(value))) return "the Content-Length is invalid";
  return undefined;
}

/** Headers as the object Node's http APIs take, repeated names becoming arrays. */
export function headerObject(headers: HeaderList): Record<string, string | string[]> {
  const object: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const existing = object[name];
    if (existing === undefined) object[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else object[name] = [existing, value];
  }
  return object;
}
