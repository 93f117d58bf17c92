// HTTP/1.1 messages on the intercepted keep-alive path, read and written by the sidecar itself
// (ADR 0002). Requests are accepted here only in a plain, unambiguous subset; anything outside
// it is left to Node's parser, which answers with the same refusals as before. Responses come
// from upstreams and are re-framed, so whatever framing they used never reaches the client. Pure.
import { ProxyError } from "./errors.js";
import type { HeaderList } from "./http-framing.js";

export interface SimpleRequest {
  method: string;
  target: string;
  /** Lower-case names, values trimmed, in order. */
  headers: HeaderList;
  /** Request body length (0 without Content-Length). */
  contentLength: number;
  /** The client asked to close the connection after this exchange. */
  close: boolean;
}

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) ([\x21-\x7e]+) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_VALUE = /^[\t\x20-\x7e]*$/;
const DECIMAL = /^[0-9]{1,15}$/;
const MAX_REQUEST_HEADERS = 100;
/** Headers whose requests go to Node's parser: bodies in chunks, upgrades and 100-continue. */
const LEFT_TO_NODE = new Set(["transfer-encoding", "upgrade", "expect"]);

/**
 * The request whose head is `text` (latin1, without the blank line that ends it), when it is in
 * the subset this path serves: HTTP/1.1, a common method, visible-ASCII target, token header
 * names, values of visible ASCII, space and tab, no line folding, at most one valid
 * Content-Length, and no Transfer-Encoding, Upgrade or Expect. Undefined for anything else.
 */
export function parseSimpleRequest(text: string): SimpleRequest | undefined {
  const lines = text.split("\r\n");
  const line = REQUEST_LINE.exec(lines[0] ?? "");
  if (line === null || lines.length - 1 > MAX_REQUEST_HEADERS) return undefined;
  const headers: HeaderList = [];
  let contentLength: number | undefined;
  let close = false;
  for (let index = 1; index < lines.length; index++) {
    const header = lines[index] ?? "";
    const colon = header.indexOf(":");
    if (colon <= 0) return undefined;
    const name = header.slice(0, colon);
    const raw = header.slice(colon + 1);
    if (!TOKEN.test(name) || !REQUEST_VALUE.test(raw)) return undefined;
    const lower = name.toLowerCase();
    const value = raw.trim();
    if (LEFT_TO_NODE.has(lower)) return undefined;
    if (lower === "content-length") {
      if (contentLength !== undefined || !DECIMAL.test(value)) return undefined;
      contentLength = Number(value);
    } else if (lower === "connection") {
      close ||= hasToken(value, "close");
    }
    headers.push([lower, value]);
  }
  return { method: line[1] ?? "", target: line[2] ?? "", headers, contentLength: contentLength ?? 0, close };
}

function hasToken(value: string, token: string): boolean {
  return value.split(",").some((part) => part.trim().toLowerCase() === token);
}

export interface ResponseHead {
  status: number;
  reason: string;
  /** Minor version: 0 for HTTP/1.0. */
  minor: number;
  headers: HeaderList;
}

// The reason phrase takes what Node's parser takes (anything but CR and LF), so both paths answer
// alike; prepareResponse drops one a writer would refuse (response-scrub.ts).
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9]{2})(?: ([^\r\n]*))?$/;
const RESPONSE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Parses an upstream's response head (latin1, without its blank line). Throws ProxyError. */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const status = STATUS_LINE.exec(lines[0] ?? "");
  if (status === null) throw new ProxyError("upstream", "the upstream's response has a malformed status line");
  const headers: HeaderList = [];
  for (let index = 1; index < lines.length; index++) {
    const header = lines[index] ?? "";
    const colon = header.indexOf(":");
    const name = colon > 0 ? header.slice(0, colon) : "";
    const raw = header.slice(colon + 1);
    // A bare CR or LF inside a line would let an upstream write header lines of its own choosing.
    if (!TOKEN.test(name) || !RESPONSE_VALUE.test(raw)) throw new ProxyError("upstream", "the upstream's response has a malformed header line");
    headers.push([name.toLowerCase(), raw.trim()]);
  }
  return { status: Number(status[2]), reason: status[3] ?? "", minor: Number(status[1]), headers };
}

export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/** How the response's body is delimited (RFC 9112 section 6.3). Throws ProxyError on a bad Content-Length. */
export function responseFraming(method: string, head: ResponseHead): BodyFraming {
  if (method === "HEAD" || head.status < 200 || head.status === 204 || head.status === 304) return { kind: "none" };
  let codings: string | undefined;
  let length: string | undefined;
  for (const [name, value] of head.headers) {
    if (name === "transfer-encoding") codings = codings === undefined ? value : `${codings},${value}`;
    else if (name === "content-length") {
      if ((length !== undefined && length !== value) || !DECIMAL.test(value)) throw new ProxyError("upstream", "the upstream's response has an invalid Content-Length");
      length = value;
    }
  }
  if (codings !== undefined) {
    const last = codings.split(",").at(-1)?.trim().toLowerCase();
    return last === "chunked" ? { kind: "chunked" } : { kind: "close" };
  }
  return length === undefined ? { kind: "close" } : { kind: "length", length: Number(length) };
}

/** True when the upstream connection may carry another request after this response. */
export function reusable(head: ResponseHead, framing: BodyFraming): boolean {
  if (framing.kind === "close") return false;
  let keepAlive = false;
  // One pass, no joined string: this runs for every response.
  for (const [name, value] of head.headers) {
    if (name !== "connection") continue;
    if (hasToken(value, "close")) return false;
    keepAlive ||= hasToken(value, "keep-alive");
  }
  return head.minor === 1 || keepAlive;
}

const FORBIDDEN_IN_HEAD = /[\r\n\0]/;

/** A message head: start line, headers, blank line. Throws on a value that would break the framing. */
export function serializeHead(startLine: string, headers: HeaderList): string {
  let text = `${startLine}\r\n`;
  for (const [name, value] of headers) {
    if (FORBIDDEN_IN_HEAD.test(value)) throw new ProxyError("bad-request", `the ${name} header holds a line break or NUL`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

const CRLF = Buffer.from("\r\n");
export const LAST_CHUNK = Buffer.from("0\r\n\r\n");

/** One chunk of a chunked body, as the buffers to write. */
export function chunk(data: Buffer): Buffer[] {
  return [Buffer.from(`${data.length.toString(16)}\r\n`, "latin1"), data, CRLF];
}

const SIZE_LINE = /^([0-9a-fA-F]{1,12})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/;
const MAX_LINE = 4096;
const MAX_TRAILERS = 32 * 1024;

/**
 * Decodes a chunked body as it arrives, strictly: hex sizes, CRLF after every chunk, bounded
 * extension and trailer lines (trailers are dropped). Throws ProxyError on anything else.
 */
export class ChunkedDecoder {
  private state: "size" | "data" | "data-end" | "trailer" | "done" = "size";
  private line = "";
  private remaining = 0;
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === "done";
  }

  /** Decodes from `input`, passing body bytes to `emit`; returns how many bytes it consumed (all of them until done). */
  push(input: Buffer, emit: (data: Buffer) => void): number {
    let position = 0;
    while (position < input.length && this.state !== "done") {
      if (this.state === "data") {
        const take = Math.min(this.remaining, input.length - position);
        emit(input.subarray(position, position + take));
        position += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = "data-end";
        continue;
      }
      const newline = input.indexOf(10, position);
      const end = newline < 0 ? input.length : newline + 1;
      this.line += input.toString("latin1", position, end);
      position = end;
      if (this.line.length > MAX_LINE) throw new ProxyError("upstream", "the upstream's chunked body has an over-long line");
      if (newline >= 0) this.endLine();
    }
    return position;
  }

  private endLine(): void {
    if (!this.line.endsWith("\r\n")) throw new ProxyError("upstream", "the upstream's chunked body has a bare line feed");
    const line = this.line.slice(0, -2);
    this.line = "";
    if (this.state === "size") {
      const size = SIZE_LINE.exec(line);
      if (size === null) throw new ProxyError("upstream", "the upstream's chunked body has an invalid chunk size");
      this.remaining = parseInt(size[1] ?? "", 16);
      this.state = this.remaining === 0 ? "trailer" : "data";
    } else if (this.state === "data-end") {
      if (line !== "") throw new ProxyError("upstream", "the upstream's chunk is longer than its size");
      this.state = "size";
    } else {
      this.trailerBytes += line.length + 2;
      if (this.trailerBytes > MAX_TRAILERS) throw new ProxyError("upstream", "the upstream's trailers are too large");
      if (line === "") this.state = "done";
    }
  }
}
