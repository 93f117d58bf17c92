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
 * `Connection: upgrade` and `Upgrade` so a WebSocket handshake can pass. Single pass in the
 * common case (no Connection header naming others): it runs twice per proxied request.
 */
export function endToEndHeaders(headers: HeaderList, options: { upgrade?: boolean } = {}): HeaderList {
  let named: Set<string> | undefined;
  let upgrade: string | undefined;
  for (const [name, value] of headers) {
    if (name === "connection") {
      for (const token of value.split(",")) {
        const lower = token.trim().toLowerCase();
        if (lower !== "" && lower !== "upgrade") (named ??= new Set()).add(lower);
      }
    } else if (name === "upgrade" && upgrade === undefined) {
      upgrade = value;
    }
  }
  const kept: HeaderList = [];
  for (const header of headers) {
    if (!HOP_BY_HOP.has(header[0]) && named?.has(header[0]) !== true) kept.push(header);
  }
  if (options.upgrade === true && upgrade !== undefined) kept.push(["connection", "upgrade"], ["upgrade", upgrade]);
  return kept;
}

const DECIMAL = /^[0-9]{1,15}$/;

/** Why a request's framing is refused, or undefined when it is unambiguous. */
export function framingProblem(headers: HeaderList): string | undefined {
  let length: string | undefined;
  let encodings = 0;
  let chunkedOnly = true;
  let lengthProblem = false;
  for (const [name, value] of headers) {
    if (name === "content-length") {
      const trimmed = value.trim();
      if ((length !== undefined && length !== trimmed) || !DECIMAL.test(trimmed)) lengthProblem = true;
      length = trimmed;
    } else if (name === "transfer-encoding") {
      encodings += 1;
      if (value.trim().toLowerCase() !== "chunked") chunkedOnly = false;
    }
  }
  if (length !== undefined && encodings > 0) return "a request may not carry both Content-Length and Transfer-Encoding";
  if (encodings > 1 || !chunkedOnly) return 'the only Transfer-Encoding accepted is "chunked"';
  if (lengthProblem) return "the Content-Length is invalid";
  return undefined;
}

/** How a request's body is delimited (RFC 9112 section 6.3: with neither header, there is none). */
export type RequestBodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

/** The framing of a request whose headers framingProblem accepted. */
export function requestBodyFraming(headers: HeaderList): RequestBodyFraming {
  for (const [name, value] of headers) {
    if (name === "transfer-encoding") return { kind: "chunked" };
    if (name === "content-length") return { kind: "length", length: Number(value.trim()) };
  }
  return { kind: "none" };
}

/**
 * The headers with the framing the upstream request must carry, on every method: the body
 * goes with its own Content-Length, or chunked when it arrived chunked or changes length on
 * the way. Transfer-Encoding is hop-by-hop, so it is always restored here: without it, a
 * DELETE, OPTIONS or GET body would reach the upstream unframed and be read as a next request
 * the sidecar never checked (http-proxy's issue #1721).
 */
export function withBodyFraming(headers: HeaderList, framing: RequestBodyFraming, options: { lengthChanges: boolean }): HeaderList {
  const kept = headers.filter(([name]) => name !== "content-length" && name !== "transfer-encoding");
  if (framing.kind === "chunked" || (framing.kind === "length" && options.lengthChanges)) kept.push(["transfer-encoding", "chunked"]);
  else if (framing.kind === "length") kept.push(["content-length", String(framing.length)]);
  return kept;
}

/** Headers in the flat [name, value, name, value, …] form Node's http APIs take as is. */
export function flatHeaders(headers: HeaderList): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  return flat;
}
