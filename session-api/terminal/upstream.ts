// The one seam between the terminal hub and whatever runs the program: a local PTY in tests and
// local development, a Kubernetes pods/attach (or exec) stream in a cluster.

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface UpstreamEnd {
  /** Exit code of the program when the upstream knows it. */
  exitCode?: number;
  /** Why the stream ended, for logs; never contains a secret. */
  reason: string;
}

export interface Upstream {
  write(data: Uint8Array | string): void;
  resize(size: TerminalSize): void;
  close(): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once, when the stream has ended for any reason (including close()). */
  onEnd(listener: (end: UpstreamEnd) => void): void;
}

/** Opens a new upstream at the given initial size; rejects when the target cannot be reached. */
export type UpstreamFactory = (size: TerminalSize) => Promise<Upstream>;
