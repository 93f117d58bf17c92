// Upstream TLS sessions, shared between the per-connection keep-alive agents so a new
// downstream connection resumes the upstream's TLS session instead of a full handshake (and a
// chain verification). Only the session ticket is shared, never a socket: each downstream
// connection still has its own upstream connections. Sessions are kept per set of trusted
// roots, so a reload that changes upstreamCaFile never resumes a session verified under the old one.
import type { TLSSocket } from "node:tls";

const MAX_SESSIONS = 256;
const DEFAULT_ROOTS = {};

export class TlsSessionCache {
  private readonly byRoots = new WeakMap<object, Map<string, Buffer>>();
  private readonly watched = new WeakSet<TLSSocket>();

  /** The last session seen for this destination under these roots (undefined roots: Node's defaults). */
  get(roots: object | undefined, key: string): Buffer | undefined {
    return this.byRoots.get(roots ?? DEFAULT_ROOTS)?.get(key);
  }

  /** Remembers every session the socket receives (TLS 1.3 sends tickets after the handshake). */
  watch(socket: TLSSocket, roots: object | undefined, key: string): void {
    if (this.watched.has(socket)) return;
    this.watched.add(socket);
    socket.on("session", (session: Buffer) => this.set(roots ?? DEFAULT_ROOTS, key, session));
  }

  private set(roots: object, key: string, session: Buffer): void {
    let sessions = this.byRoots.get(roots);
    if (sessions === undefined) {
      sessions = new Map();
      this.byRoots.set(roots, sessions);
    }
    sessions.delete(key);
    if (sessions.size >= MAX_SESSIONS) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
    sessions.set(key, session);
  }
}
