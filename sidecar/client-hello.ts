// Reads the server name (SNI) from the first bytes of a TLS connection without consuming
// them, so the connection can afterwards be handed to a TLS server or tunnelled as it is.

export type ClientHelloResult =
  | { kind: "incomplete" } // need more bytes
  | { kind: "not-tls" }
  | { kind: "hello"; sni: string | undefined };

/** Largest ClientHello accepted; a bigger one is treated as garbage. */
export const MAX_CLIENT_HELLO = 16 * 1024;

/** Parses a TLS ClientHello from the start of `data`, possibly spread over several records. */
export function parseClientHello(data: Buffer): ClientHelloResult {
  if (data.length === 0) return { kind: "incomplete" };
  if (data[0] !== 0x16) return { kind: "not-tls" };
  const handshake = collectHandshake(data);
  if (handshake === "not-tls") return { kind: "not-tls" };
  if (handshake === undefined) return { kind: "incomplete" };
  try {
    return { kind: "hello", sni: readSni(handshake) };
  } catch {
    return { kind: "not-tls" };
  }
}

function collectHandshake(data: Buffer): Buffer | "not-tls" | undefined {
  const fragments: Buffer[] = [];
  let collected = 0;
  let offset = 0;
  let needed: number | undefined;
  while (needed === undefined || collected < needed) {
    if (offset + 5 > data.length) return data.length > MAX_CLIENT_HELLO ? "not-tls" : undefined;
    if (data[offset] !== 0x16 || data[offset + 1] !== 0x03) return "not-tls";
    const length = data.readUInt16BE(offset + 3);
    if (length === 0 || length > 16384) return "not-tls";
    if (offset + 5 + length > data.length) return undefined;
    fragments.push(data.subarray(offset + 5, offset + 5 + length));
    collected += length;
    offset += 5 + length;
    if (needed === undefined) {
      const first = Buffer.concat(fragments);
      if (first.length < 4) continue;
      if (first[0] !== 0x01) return "not-tls"; // not a ClientHello
      needed = 4 + first.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO) return "not-tls";
    }
  }
  return Buffer.concat(fragments).subarray(4, needed);
}

function readSni(hello: Buffer): string | undefined {
  let offset = 2 + 32; // client_version, random
  offset += 1 + byteAt(hello, offset); // session_id
  offset += 2 + hello.readUInt16BE(offset); // cipher_suites
  offset += 1 + byteAt(hello, offset); // compression_methods
  if (offset === hello.length) return undefined; // no extensions
  const end = offset + 2 + hello.readUInt16BE(offset);
  if (end > hello.length) throw new RangeError("extensions overrun");
  offset += 2;
  while (offset + 4 <= end) {
    const type = hello.readUInt16BE(offset);
    const length = hello.readUInt16BE(offset + 2);
    offset += 4;
    if (offset + length > end) throw new RangeError("extension overruns");
    if (type === 0) return readServerName(hello.subarray(offset, offset + length));
    offset += length;
  }
  return undefined;
}

function readServerName(extension: Buffer): string | undefined {
  let offset = 2; // server_name_list length
  while (offset + 3 <= extension.length) {
    const type = byteAt(extension, offset);
    const length = extension.readUInt16BE(offset + 1);
    offset += 3;
    if (offset + length > extension.length) throw new RangeError("server name overruns");
    if (type === 0) return extension.subarray(offset, offset + length).toString("latin1");
    offset += length;
  }
  return undefined;
}

function byteAt(buffer: Buffer, offset: number): number {
  const value = buffer[offset];
  if (value === undefined) throw new RangeError("truncated ClientHello");
  return value;
}
