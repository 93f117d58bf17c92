// The few parts of the DNS wire format the responder needs: one question in, A/AAAA answers
// out. Pure.

export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export const QTYPE = { a: 1, aaaa: 28 } as const;
const CLASS_IN = 1;

export interface DnsQuery {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  questionCount: number;
  name: string; // as sent, without the trailing dot
  type: number;
  qclass: number;
  questionBytes: Buffer; // the question section, echoed in the answer
}

/** Parses a query; undefined when it is too broken to answer at all (not even its id). */
export function parseQuery(message: Buffer): DnsQuery | { id: number; broken: true } | undefined {
  if (message.length < 12) return undefined;
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return undefined; // a response, not a query
  const questionCount = message.readUInt16BE(4);
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = message[offset];
    if (length === undefined || length > 63) return { id, broken: true }; // also refuses compression pointers
    offset += 1;
    if (length === 0) break;
    if (offset + length > message.length) return { id, broken: true };
    labels.push(message.subarray(offset, offset + length).toString("latin1"));
    offset += length;
  }
  if (offset + 4 > message.length || labels.join(".").length > 253) return { id, broken: true };
  return {
    id,
    opcode: (flags >> 11) & 0xf,
    recursionDesired: (flags & 0x0100) !== 0,
    questionCount,
    name: labels.join("."),
    type: message.readUInt16BE(offset),
    qclass: message.readUInt16BE(offset + 2),
    questionBytes: message.subarray(12, offset + 4),
  };
}

export type DnsDecision = { rcode: number; lookup: false } | { rcode: 0; lookup: true; family: 4 | 6 };

/** What to answer, given whether the name is allowed. */
export function decideQuery(query: DnsQuery, allowed: (name: string) => boolean): DnsDecision {
  if (query.opcode !== 0) return { rcode: RCODE.notImp, lookup: false };
  if (query.questionCount !== 1) return { rcode: RCODE.formErr, lookup: false };
  if (query.qclass !== CLASS_IN) return { rcode: RCODE.refused, lookup: false };
  if (!allowed(query.name)) return { rcode: RCODE.nxDomain, lookup: false };
  if (query.type === QTYPE.a) return { rcode: 0, lookup: true, family: 4 };
  if (query.type === QTYPE.aaaa) return { rcode: 0, lookup: true, family: 6 };
  return { rcode: RCODE.noError, lookup: false }; // allowed name, no data of that type here
}

/** Builds a response echoing the question, with A or AAAA answers. */
export function buildResponse(query: Pick<DnsQuery, "id" | "opcode" | "recursionDesired" | "questionBytes" | "type">, rcode: number, addresses: readonly Buffer[] = [], ttl = 30): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  header.writeUInt16BE(0x8000 | (query.opcode << 11) | (query.recursionDesired ? 0x0100 : 0) | 0x0080 | rcode, 2);
  header.writeUInt16BE(query.questionBytes.length > 0 ? 1 : 0, 4);
  header.writeUInt16BE(addresses.length, 6);
  const answers = addresses.map((address) => {
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    record.writeUInt16BE(query.type, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(ttl, 6);
    record.writeUInt16BE(address.length, 10);
    return Buffer.concat([record, address]);
  });
  return Buffer.concat([header, query.questionBytes, ...answers]);
}

/** The wire form of an IPv4 or IPv6 address. */
export function addressBytes(address: string, family: 4 | 6): Buffer {
  if (family === 4) return Buffer.from(address.split(".").map(Number));
  const [head = "", tail = ""] = address.split("::");
  const groups = (part: string): string[] => (part === "" ? [] : part.split(":"));
  const front = groups(head);
  const back = address.includes("::") ? groups(tail) : [];
  const middle = Array<string>(8 - front.length - back.length).fill("0");
  const bytes = Buffer.alloc(16);
  [...front, ...middle, ...back].forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}
