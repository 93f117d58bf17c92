// The per-process interception CA. Its private key is created at start-up as a non-extractable
// WebCrypto key and never leaves this process's memory; only its certificate is written out,
// for the agent to trust. Leaf certificates are minted once per host and their TLS contexts
// cached, so concurrent handshakes for one host share a single mint.
//
// Certificates are written with the small DER writer in der.ts rather than a general X.509
// library: the one we tried (@peculiar/x509) added ~20 MB to the sidecar's resident memory and
// several milliseconds per mint, for the handful of fields a leaf needs.
import { createHash, generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import {
  bitString, boolean, ecdsaSignatureToDer, explicit, implicit, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String,
} from "./der.js";

const subtle = webcrypto.subtle;
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const ECDSA_WITH_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface MintListener {
  (host: string, milliseconds: number): void;
}

interface Extension {
  id: string;
  critical: boolean;
  value: Buffer;
}

export class CertificateAuthority {
  readonly certificatePem: string;
  private readonly subject: Buffer;
  private readonly keyId: Buffer;
  private readonly notAfter: number;
  private readonly signingKey: webcrypto.CryptoKey;
  private readonly contexts = new Map<string, Promise<SecureContext>>();
  private readonly onMint: MintListener | undefined;

  private constructor(options: { certificateDer: Buffer; subject: Buffer; keyId: Buffer; notAfter: number; signingKey: webcrypto.CryptoKey; onMint: MintListener | undefined }) {
    this.certificatePem = toPem(options.certificateDer, "CERTIFICATE");
    this.subject = options.subject;
    this.keyId = options.keyId;
    this.notAfter = options.notAfter;
    this.signingKey = options.signingKey;
    this.onMint = options.onMint;
  }

  /** Creates a fresh CA whose key is not extractable. */
  static async create(options: { onMint?: MintListener } = {}): Promise<CertificateAuthority> {
    const keys = (await subtle.generateKey(EC_KEY, false, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const spki = Buffer.from(await subtle.exportKey("spki", keys.publicKey));
    const keyId = keyIdentifier(spki);
    const subject = name(`agentbox sidecar CA ${randomBytes(4).toString("hex")}`, "agentbox");
    const now = Date.now();
    const notAfter = now + 365 * DAY;
    const certificateDer = await signCertificate(keys.privateKey, {
      issuer: subject,
      subject,
      notBefore: now - HOUR,
      notAfter,
      spki,
      extensions: [
        { id: "2.5.29.19", critical: true, value: sequence(boolean(true), smallInteger(0)) }, // CA, pathLen 0
        { id: "2.5.29.15", critical: true, value: bitString(Buffer.from([0x06]), 1) }, // keyCertSign, cRLSign
        { id: "2.5.29.14", critical: false, value: octetString(keyId) },
      ],
    });
    return new CertificateAuthority({ certificateDer, subject, keyId, notAfter, signingKey: keys.privateKey, onMint: options.onMint });
  }

  /** Writes the CA certificate to dir/ca.crt atomically and returns its path. */
  async writeCertificate(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, "ca.crt");
    const temporary = join(dir, `.ca.crt.${process.pid}.tmp`);
    await writeFile(temporary, this.certificatePem, { mode: 0o644 });
    await rename(temporary, path);
    return path;
  }

  /** The TLS server context for `host`, minting its leaf on first use. */
  contextFor(host: string): Promise<SecureContext> {
    let context = this.contexts.get(host);
    if (context === undefined) {
      context = this.mint(host);
      this.contexts.set(host, context);
      // A failed mint must not poison the cache.
      context.catch(() => this.contexts.delete(host));
    }
    return context;
  }

  /** Mints a leaf certificate for `host` (and any extra names; uncached), with its key, both PEM. */
  async mintLeaf(host: string, extraNames: readonly string[] = []): Promise<{ certificatePem: string; keyPem: string }> {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const spki = publicKey.export({ type: "spki", format: "der" });
    const now = Date.now();
    const names = [host, ...extraNames].map((entry) => (isIP(entry) === 0 ? implicit(2, Buffer.from(entry, "ascii")) : implicit(7, ipBytes(entry))));
    const certificateDer = await signCertificate(this.signingKey, {
      issuer: this.subject,
      subject: name(host),
      notBefore: now - HOUR,
      notAfter: Math.min(now + 30 * DAY, this.notAfter),
      spki,
      extensions: [
        { id: "2.5.29.19", critical: true, value: sequence() }, // not a CA
        { id: "2.5.29.15", critical: true, value: bitString(Buffer.from([0x80]), 7) }, // digitalSignature
        { id: "2.5.29.37", critical: false, value: sequence(oid("1.3.6.1.5.5.7.3.1")) }, // serverAuth
        { id: "2.5.29.17", critical: false, value: sequence(...names) },
        { id: "2.5.29.35", critical: false, value: sequence(implicit(0, this.keyId)) },
        { id: "2.5.29.14", critical: false, value: octetString(keyIdentifier(spki)) },
      ],
    });
    return {
      certificatePem: toPem(certificateDer, "CERTIFICATE"),
      keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
  }

  private async mint(host: string): Promise<SecureContext> {
    const started = performance.now();
    const leaf = await this.mintLeaf(host);
    const context = createSecureContext({ key: leaf.keyPem, cert: `${leaf.certificatePem}${this.certificatePem}`, minVersion: "TLSv1.2" });
    this.onMint?.(host, performance.now() - started);
    return context;
  }
}

interface CertificateFields {
  issuer: Buffer;
  subject: Buffer;
  notBefore: number;
  notAfter: number;
  spki: Buffer;
  extensions: Extension[];
}

async function signCertificate(key: webcrypto.CryptoKey, fields: CertificateFields): Promise<Buffer> {
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    ECDSA_WITH_SHA256,
    fields.issuer,
    sequence(time(new Date(fields.notBefore)), time(new Date(fields.notAfter))),
    fields.subject,
    fields.spki,
    explicit(3, sequence(...fields.extensions.map(extension))),
  );
  const signature = Buffer.from(await subtle.sign(SIGNING, key, tbs));
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(ecdsaSignatureToDer(signature)));
}

function extension(entry: Extension): Buffer {
  return sequence(oid(entry.id), ...(entry.critical ? [boolean(true)] : []), octetString(entry.value));
}

function name(commonName: string, organization?: string): Buffer {
  const attribute = (id: string, value: string): Buffer => set(sequence(oid(id), utf8String(value)));
  return sequence(attribute("2.5.4.3", commonName), ...(organization === undefined ? [] : [attribute("2.5.4.10", organization)]));
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (a P-256 point is the SPKI's last 65 bytes). */
function keyIdentifier(spki: Buffer): Buffer {
  return createHash("sha1").update(spki.subarray(spki.length - 65)).digest();
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = "", tail = ""] = canonical.split("::");
  const groups = (part: string): string[] => (part === "" ? [] : part.split(":"));
  const front = groups(head);
  const back = canonical.includes("::") ? groups(tail) : [];
  const all = [...front, ...Array<string>(8 - front.length - back.length).fill("0"), ...back];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

function toPem(der: Buffer, label: string): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
