// Stream plumbing shared by the request and response paths.
import { Transform, type TransformCallback } from "node:stream";
import { StreamReplacer, type Replacement } from "./scrub.js";

/** A Transform that replaces patterns across chunk boundaries, passing each chunk on at once. */
export class ReplaceTransform extends Transform {
  private readonly replacer: StreamReplacer;

  constructor(replacements: readonly Replacement[]) {
    super();
    this.replacer = new StreamReplacer(replacements);
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
