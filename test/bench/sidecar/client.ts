// The loopback client of bench:sidecar and profile-load.ts: CONNECT through a proxy, TLS inside
// the tunnel, and one minimal keep-alive HTTP/1.1 connection sending the bench's request.
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";

export const SECRET = "sk-ant-api03-" + "BENCHrealREALrealREALrealREALrealREALreal0";
export const STUB = "sk-ant-api03-" + "BENCHstubSTUBstubSTUBstubSTUBstubSTUBstub1";

/** CONNECT through an HTTP proxy, then TLS inside the tunnel. */
export async function viaProxy(proxyPort: number, target: string, servername: string, ca: string): Promise<TLSSocket> {
  const socket = netConnect({ host: "127.0.0.1", port: proxyPort, noDelay: true });
  await once(socket, "connect");
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (!head.includes("\r\n\r\n")) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  socket.pause();
  if (!/^HTTP\/1\.[01] 200/.test(head.toString())) throw new Error(`CONNECT ${target} refused: ${head.toString().split("\r\n")[0] ?? ""}`);
  const tls = tlsConnect({ socket, servername, ca });
  await once(tls, "secureConnect");
  return tls;
}

/** A minimal keep-alive HTTP/1.1 client over one socket: the same for every target. */
export class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  constructor(private readonly socket: TLSSocket, private readonly host: string) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on("error", () => undefined);
  }

  async request(): Promise<number> {
    const started = performance.now();
    this.socket.write(`GET /bench HTTP/1.1\r\nHost: ${this.host}\r\nx-api-key: ${STUB}\r\naccept: application/json\r\n\r\n`);
    for (;;) {
      const end = this.complete();
      if (end > 0) {
        const status = this.buffer.subarray(9, 12).toString();
        this.buffer = this.buffer.subarray(end);
        if (status !== "200") throw new Error(`status ${status}`);
        return performance.now() - started;
      }
      if (this.socket.destroyed) throw new Error("connection closed");
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  private complete(): number {
    const headEnd = this.buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) return 0;
    const head = this.buffer.subarray(0, headEnd).toString("latin1").toLowerCase();
    const length = /\r\ncontent-length: *([0-9]+)/.exec(head);
    if (length?.[1] !== undefined) {
      const total = headEnd + 4 + Number(length[1]);
      return this.buffer.length >= total ? total : 0;
    }
    const last = this.buffer.indexOf("\r\n0\r\n\r\n", headEnd);
    return last < 0 ? 0 : last + 7;
  }

  close(): void {
    this.socket.destroy();
  }
}
