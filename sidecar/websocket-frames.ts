// The server side of a WebSocket to a bound host, re-framed so its payloads can be scrubbed
// (RFC 6455 section 5). A raw relay after the 101 let a bound host's frames carry the real
// value straight to the agent. Data frames are scrubbed as one stream per message, across
// fragments; what one upstream read yields goes out at once as a fragment, so a long message
// streams with bounded memory (fragmentation is invisible to WebSocket applications). Control
// frames (at most 125 bytes) are scrubbed whole. Extensions are refused in the handshake
// (upgrade.ts), so a frame with an RSV bit set is a protocol error. Pure.
import { ProxyError } from "./errors.js";
import type { ScrubStream, SecretScrubber } from "./secret-scrubber.js";

const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const MAX_CONTROL = 125;

interface FrameHeader {
  fin: boolean;
  opcode: number;
  length: number;
  mask: Buffer | undefined;
}

/** Parses server frames from arbitrary splits and returns them scrubbed and re-framed. Throws ProxyError. */
export class ServerFrameScrubber {
  private headerBytes: Buffer = Buffer.alloc(0);
  private frame: FrameHeader | undefined;
  private remaining = 0;
  private maskOffset = 0;
  /** The message being received (data frames), and the opcode its next emitted frame carries. */
  private message: ScrubStream | undefined;
  private nextOpcode = CONTINUATION;
  private pending: Buffer[] = [];
  private control: Buffer[] = [];

  constructor(private readonly scrubber: SecretScrubber) {}

  push(data: Buffer): Buffer {
    const out: Buffer[] = [];
    let position = 0;
    while (position < data.length) {
      if (this.frame === undefined) {
        position = this.readHeader(data, position);
        if (this.frame === undefined) break;
        if (this.remaining === 0) this.endFrame(out);
        continue;
      }
      const take = Math.min(this.remaining, data.length - position);
      const piece = this.unmask(data.subarray(position, position + take));
      position += take;
      this.remaining -= take;
      if (this.frame.opcode >= CLOSE) this.control.push(piece);
      else {
        const scrubbed = this.message?.push(piece);
        if (scrubbed !== undefined && scrubbed.length > 0) this.pending.push(scrubbed);
      }
      if (this.remaining === 0) this.endFrame(out);
    }
    // Part of a data frame is in: send what is scrubbed now as a fragment rather than wait.
    if (this.frame !== undefined && this.frame.opcode < CLOSE && this.pending.length > 0) out.push(...this.emit(false));
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** Reads a frame header starting at `position`; returns where it ended (or the end of `data`, header incomplete). */
  private readHeader(data: Buffer, position: number): number {
    const available = Buffer.concat([this.headerBytes, data.subarray(position, position + 14)]);
    const parsed = parseHeader(available);
    if (parsed === undefined) {
      this.headerBytes = available;
      return data.length;
    }
    const used = parsed.size - this.headerBytes.length;
    this.headerBytes = Buffer.alloc(0);
    this.start(parsed.header);
    return position + used;
  }

  private start(header: FrameHeader): void {
    const { opcode } = header;
    if (opcode >= CLOSE) {
      if (!header.fin || header.length > MAX_CONTROL) throw new ProxyError("upstream", "the upstream sent a fragmented or over-long WebSocket control frame");
    } else if (opcode === TEXT || opcode === BINARY) {
      if (this.message !== undefined) throw new ProxyError("upstream", "the upstream started a WebSocket message inside another");
      this.message = this.scrubber.stream();
      this.nextOpcode = opcode;
    } else if (this.message === undefined) {
      throw new ProxyError("upstream", "the upstream sent a WebSocket continuation frame outside a message");
    }
    this.frame = header;
    this.remaining = header.length;
    this.maskOffset = 0;
  }

  private endFrame(out: Buffer[]): void {
    const frame = this.frame;
    if (frame === undefined) return;
    this.frame = undefined;
    if (frame.opcode >= CLOSE) {
      out.push(encodeFrame(true, frame.opcode, this.scrubControl(Buffer.concat(this.control))));
      this.control = [];
      return;
    }
    if (frame.fin) {
      const rest = this.message?.end();
      if (rest !== undefined && rest.length > 0) this.pending.push(rest);
      this.message = undefined;
    }
    out.push(...this.emit(frame.fin));
  }

  private emit(fin: boolean): Buffer[] {
    const payload = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    const frame = encodeFrame(fin, this.nextOpcode, payload);
    this.nextOpcode = CONTINUATION;
    return [frame];
  }

  /**
   * A ping/pong payload or a close frame's code and reason, scrubbed whole and kept within 125
   * bytes. The close code is scrubbed with its reason: leaving its two bytes out let a value at
   * the start of the payload through, its first two bytes as the code and the rest unmatched.
   */
  private scrubControl(payload: Buffer): Buffer {
    const text = this.scrubber.scrubString(payload.toString("latin1"));
    return Buffer.from(text, "latin1").subarray(0, MAX_CONTROL);
  }

  private unmask(piece: Buffer): Buffer {
    const mask = this.frame?.mask;
    if (mask === undefined) return piece;
    // Servers must not mask; one that does is still read right.
    const out = Buffer.allocUnsafe(piece.length);
    for (let index = 0; index < piece.length; index++) out[index] = (piece[index] as number) ^ (mask[(this.maskOffset + index) % 4] as number);
    this.maskOffset += piece.length;
    return out;
  }
}

/** A frame header from the start of `bytes`, or undefined when it is not all there yet. Throws ProxyError. */
export function parseHeader(bytes: Buffer): { header: FrameHeader; size: number } | undefined {
  if (bytes.length < 2) return undefined;
  const first = bytes[0] as number;
  const second = bytes[1] as number;
  if ((first & 0x70) !== 0) throw new ProxyError("upstream", "the upstream sent a WebSocket frame using an extension (RSV bits), which the sidecar cannot scrub");
  const opcode = first & 0x0f;
  if (![CONTINUATION, TEXT, BINARY, CLOSE, 0x9, 0xa].includes(opcode)) throw new ProxyError("upstream", "the upstream sent a WebSocket frame with an unknown opcode");
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let size = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    size = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    const big = bytes.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProxyError("upstream", "the upstream sent a WebSocket frame of an impossible length");
    length = Number(big);
    size = 10;
  }
  if (masked && bytes.length < size + 4) return undefined;
  const mask = masked ? Buffer.from(bytes.subarray(size, size + 4)) : undefined;
  return { header: { fin: (first & 0x80) !== 0, opcode, length, mask }, size: size + (masked ? 4 : 0) };
}

/** An unmasked frame, as a server sends it. */
export function encodeFrame(fin: boolean, opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const size = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const header = Buffer.alloc(size);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (size === 2) header[1] = length;
  else if (size === 4) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}
