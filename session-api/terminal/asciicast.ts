// Optional asciicast v2 recording of a session's terminal: a JSON header line, then one
// [seconds, "o", text] line per output chunk and [seconds, "r", "COLSxROWS"] per resize
// (https://docs.asciinema.org/manual/asciicast/v2/). Bounded: once the file would pass
// `maxBytes`, recording stops, so a flooding program cannot fill the disk.
import { createWriteStream, type WriteStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { TerminalSize } from "./upstream.js";

export interface RecorderOptions {
  path: string;
  size: TerminalSize;
  maxBytes: number;
  now?: () => number;
}

/** One event line of a cast; pure, for tests and the recorder alike. */
export function castEvent(seconds: number, kind: "o" | "r", data: string): string {
  return `${JSON.stringify([Math.round(seconds * 1e6) / 1e6, kind, data])}\n`;
}

export function castHeader(size: TerminalSize, startMs: number): string {
  return `${JSON.stringify({ version: 2, width: size.cols, height: size.rows, timestamp: Math.floor(startMs / 1000), env: { TERM: "xterm-256color" } })}\n`;
}

export class CastRecorder {
  private readonly out: WriteStream;
  private readonly decoder = new StringDecoder("utf8");
  private readonly now: () => number;
  private readonly start: number;
  private written = 0;
  /** Recording stopped at the size bound. */
  full = false;

  constructor(private readonly options: RecorderOptions) {
    this.now = options.now ?? Date.now;
    this.start = this.now();
    this.out = createWriteStream(options.path, { flags: "wx", mode: 0o600 });
    this.append(castHeader(options.size, this.start));
  }

  /** Errors writing the file (disk full, directory gone): the terminal carries on without it. */
  onError(listener: (err: Error) => void): void {
    this.out.on("error", listener);
  }

  output(chunk: Buffer): void {
    // The decoder keeps a character split between chunks for the next one.
    const text = this.decoder.write(chunk);
    if (text) this.append(castEvent(this.elapsed(), "o", text));
  }

  resize(size: TerminalSize): void {
    this.append(castEvent(this.elapsed(), "r", `${size.cols}x${size.rows}`));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }

  private elapsed(): number {
    return (this.now() - this.start) / 1000;
  }

  private append(line: string): void {
    if (this.full) return;
    const bytes = Buffer.byteLength(line);
    if (this.written + bytes > this.options.maxBytes) {
      this.full = true;
      return;
    }
    this.written += bytes;
    this.out.write(line);
  }
}
