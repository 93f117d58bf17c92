// The DNS responder the capture rules send the agent's DNS to: it answers only names the
// egress policy allows, from the sidecar's resolver, and NXDOMAIN for everything else, so
// DNS cannot be used to reach or leak towards anything else.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { addressBytes, buildResponse, decideQuery, parseQuery, RCODE } from "./dns-message.js";
import { normalizeHost } from "./hosts.js";
import type { Policy } from "./policy.js";
import type { Resolver } from "./upstream.js";

export interface DnsResponderOptions {
  policy: () => Policy;
  resolver: Resolver;
  logger: Logger;
}

const MAX_TCP_MESSAGE = 4096;

export class DnsResponder {
  private readonly options: DnsResponderOptions;
  private readonly udp: UdpSocket[] = [];
  private readonly tcp: Server[] = [];
  private readonly connections = new Set<Socket>();

  constructor(options: DnsResponderOptions) {
    this.options = options;
  }

  get udpPort(): number {
    return this.udp[0]?.address().port ?? 0;
  }

  get tcpPort(): number {
    const address = this.tcp[0]?.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  /**
   * Listens on one address, UDP and TCP; may be called for several. Replies to redirected UDP
   * must leave from the address the redirect targeted (127.0.0.1 or ::1) so that connection
   * tracking maps them back to the server the agent asked; hence loopback, not a wildcard.
   */
  async listen(address: { host: string; port: number }): Promise<void> {
    const udp = createSocket(address.host.includes(":") ? "udp6" : "udp4");
    udp.on("message", (message, remote) => {
      void this.answer(message).then((reply) => {
        if (reply !== undefined) udp.send(reply, remote.port, remote.address);
      });
    });
    udp.on("error", (error) => this.options.logger.warn({ err: error.message }, "dns udp error"));
    udp.bind(address.port, address.host);
    await once(udp, "listening");
    this.udp.push(udp);
    const tcp = createServer((socket) => this.serveTcp(socket));
    // Same port number for TCP; with port 0 both pick their own and report them apart.
    tcp.listen(address.port, address.host);
    await once(tcp, "listening");
    this.tcp.push(tcp);
  }

  async close(): Promise<void> {
    for (const udp of this.udp) udp.close();
    for (const socket of this.connections) socket.destroy();
    await Promise.all(
      this.tcp.filter((server) => server.listening).map(async (server) => {
        server.close();
        await once(server, "close");
      }),
    );
  }

  /** The reply to one query message, or undefined when it deserves none. Never throws. */
  async answer(message: Buffer): Promise<Buffer | undefined> {
    const query = parseQuery(message);
    if (query === undefined) return undefined;
    if ("broken" in query) return buildResponse({ id: query.id, opcode: 0, recursionDesired: false, questionBytes: Buffer.alloc(0), type: 0 }, RCODE.formErr);
    const decision = decideQuery(query, (name) => {
      const host = normalizeHost(name);
      return host !== undefined && this.options.policy().isAllowed(host);
    });
    if (!decision.lookup) return buildResponse(query, decision.rcode);
    try {
      const addresses = (await this.options.resolver(query.name)).filter((address) => address.family === decision.family);
      return buildResponse(query, RCODE.noError, addresses.map((address) => addressBytes(address.address, address.family)));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return buildResponse(query, code === "ENOTFOUND" ? RCODE.nxDomain : RCODE.servFail);
    }
  }

  private serveTcp(socket: Socket): void {
    this.connections.add(socket);
    socket.on("close", () => this.connections.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (length > MAX_TCP_MESSAGE) {
          socket.destroy();
          return;
        }
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        void this.answer(message).then((reply) => {
          if (reply === undefined || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        });
      }
    });
  }
}
