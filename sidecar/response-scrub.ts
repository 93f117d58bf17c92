// What a response from a bound host becomes before the agent sees it, on both request paths
// (the sidecar's own framing and Node's http): its reason phrase and every header scrubbed, and
// its body decoded of every transfer-coding and content-coding (in the reverse of the order
// they were applied) so the scrubber reads plain bytes. A coding the sidecar cannot decode is
// refused rather than passed through.
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import { ProxyError } from "./errors.js";
import { endToEndHeaders, type HeaderList } from "./http-framing.js";
import type { ScrubStream, SecretScrubber } from "./secret-scrubber.js";

export interface ResponseIn {
  reason: string;
  /** As received: lower-case names, in order, hop-by-hop ones included. */
  headers: HeaderList;
  hasBody: boolean;
  /** The body is delimited by a Content-Length the client can be given as is. */
  lengthFramed: boolean;
  /**
   * The transfer-codings the body still carries when it reaches us: Node's parser and the
   * sidecar's own framing take off a final "chunked", not the codings before it.
   */
  dechunked: boolean;
}

export interface ResponseOut {
  reason: string;
  /** End-to-end headers to send, scrubbed; Content-Length only when it is still right. */
  headers: HeaderList;
  /** Decoders to run the body through, in order (empty when it carries no coding). */
  decoders: Duplex[];
  /** The body's scrubber, when the response is scrubbed and has a body. */
  body: ScrubStream | undefined;
  /** The body keeps its length: Content-Length may be sent. */
  keepLength: boolean;
}

/** What a reason phrase may hold on the way out (RFC 9112: HTAB, SP, VCHAR, obs-text; Node's writer checks the same). */
const WRITABLE_REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Both parsers (Node's and http1.ts) let through reason phrases with control characters that
 * Node's writer refuses (it threw after the response was taken): such a reason is dropped.
 */
function writableReason(reason: string): string {
  return WRITABLE_REASON.test(reason) ? reason : "";
}

/** Prepares a response; `scrubber` undefined (an unbound host) relays it unchanged but for a reason phrase no writer takes. Throws ProxyError. */
export function prepareResponse(scrubber: SecretScrubber | undefined, response: ResponseIn): ResponseOut {
  let headers = endToEndHeaders(response.headers);
  if (scrubber === undefined) return { reason: writableReason(response.reason), headers, decoders: [], body: undefined, keepLength: response.lengthFramed };
  headers = headers.map(([name, value]) => [name, scrubber.scrubString(value)]);
  // In the order applied: content-codings by the origin, then transfer-codings on the way.
  const codings = [...listed(response.headers, "content-encoding"), ...transferCodings(response.headers, response.dechunked)];
  const decoders = response.hasBody ? decodersFor(codings) : [];
  if (codings.length > 0) headers = headers.filter(([name]) => name !== "content-encoding");
  const keepLength = response.lengthFramed && codings.length === 0 && scrubber.keepsLength;
  if (response.hasBody && !keepLength) headers = headers.filter(([name]) => name !== "content-length");
  return { reason: writableReason(scrubber.scrubString(response.reason)), headers, decoders, body: response.hasBody ? scrubber.stream() : undefined, keepLength };
}

/** The tokens of every line of a list header, in order, lower-case, without "identity". */
function listed(headers: HeaderList, header: string): string[] {
  const tokens: string[] = [];
  for (const [name, value] of headers) {
    if (name !== header) continue;
    for (const token of value.split(",")) {
      const coding = token.trim().toLowerCase();
      if (coding !== "" && coding !== "identity") tokens.push(coding);
    }
  }
  return tokens;
}

/** The transfer-codings still on the body (its framing took off a final "chunked"), in the order applied. */
function transferCodings(headers: HeaderList, dechunked: boolean): string[] {
  const codings = listed(headers, "transfer-encoding");
  if (dechunked && codings.at(-1) === "chunked") codings.pop();
  return codings;
}

const require = createRequire(import.meta.url);

/**
 * Decoders undoing `codings` (listed in the order they were applied), last applied first.
 * node:zlib (~1.3 MB of resident memory) loads on the first coded response from a bound host,
 * which is rare: bound hosts are asked for identity. Throws ProxyError for a coding the sidecar
 * cannot decode ("chunked" anywhere but last, compress, zstd, ...): passing it on would pass
 * its bytes unscrubbed.
 */
export function decodersFor(codings: readonly string[]): Duplex[] {
  if (codings.length === 0) return [];
  const zlib = require("node:zlib") as typeof import("node:zlib");
  const decoders: Record<string, () => Duplex> = { gzip: zlib.createGunzip, "x-gzip": zlib.createGunzip, deflate: zlib.createInflate, br: zlib.createBrotliDecompress };
  return [...codings].reverse().map((coding) => {
    const create = Object.hasOwn(decoders, coding) ? decoders[coding] : undefined;
    if (create === undefined) throw new ProxyError("upstream", `the upstream answered with the coding "${coding.slice(0, 40)}", which the sidecar cannot scrub`);
    return create();
  });
}

/**
 * Joins decoders into one chain: write to `input`, read from `output`; `destroy` tears all of
 * it down. `onError` hears the first failure of any of them (pipe does not pass errors on).
 */
export function chain(decoders: readonly Duplex[], onError: (error: Error) => void): { input: Duplex; output: Duplex; destroy(): void } {
  const first = decoders[0];
  const last = decoders.at(-1);
  if (first === undefined || last === undefined) throw new Error("chain: no decoders");
  for (let index = 0; index + 1 < decoders.length; index++) (decoders[index] as Duplex).pipe(decoders[index + 1] as Duplex);
  let failed = false;
  for (const decoder of decoders) {
    decoder.once("error", (error) => {
      if (!failed) onError(error);
      failed = true;
    });
  }
  return { input: first, output: last, destroy: () => decoders.forEach((decoder) => decoder.destroy()) };
}
