// Stream plumbing shared by the request and response paths.
import { Transform, type TransformCallback } from "node:stream";
import type { ScrubStream } from "./secret-scrubber.js";

/** A Transform that scrubs a body across chunk boundaries, passing each chunk on at once. */
export class ScrubTransform extends Transform {
  constructor(private readonly replacer: ScrubStream) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out = this.replacer.push(chunk);
    if (out.length > 0) this.push(out);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.replacer.end();
    if (rest.length > 0) this.push(rest);
    callback();
  }
}
