// The per-process interception CA. Its private key is created at start-up as a non-extractable
// WebCrypto key and never leaves this process's memory; only its certificate is written out,
// for the agent to trust. Leaf certificates are minted once per host and their TLS contexts
// cached, so concurrent handshakes for one host share a single mint.
// @peculiar/x509 needs a Reflect metadata polyfill loaded before it.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import * as x509 from "@peculiar/x509";

const crypto = webcrypto as unknown as Crypto;
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface MintListener {
  (host: string, milliseconds: number): void;
}

export class CertificateAuthority {
  readonly certificatePem: string;
  private readonly certificate: x509.X509Certificate;
  private readonly signingKey: CryptoKey;
  private readonly contexts = new Map<string, Promise<SecureContext>>();
  private readonly onMint: MintListener | undefined;
  /** The same for every leaf: computed once rather than hashing the CA key per mint. */
  private authorityKeyId: Promise<x509.AuthorityKeyIdentifierExtension> | undefined;

  private constructor(certificate: x509.X509Certificate, signingKey: CryptoKey, onMint: MintListener | undefined) {
    this.certificate = certificate;
    this.signingKey = signingKey;
    this.certificatePem = certificate.toString("pem");
    this.onMint = onMint;
  }

  /** Creates a fresh CA whose key is not extractable. */
  static async create(options: { onMint?: MintListener } = {}): Promise<CertificateAuthority> {
    const keys = (await crypto.subtle.generateKey(EC_KEY, false, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: `CN=agentbox sidecar CA ${randomBytes(4).toString("hex")}, O=agentbox`,
        notBefore: new Date(now - HOUR),
        notAfter: new Date(now + 365 * DAY),
        keys,
        signingAlgorithm: SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    return new CertificateAuthority(certificate, keys.privateKey, options.onMint);
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
    const keys = (await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const leaf = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject: `CN=${host}`,
        issuer: this.certificate.subject,
        notBefore: new Date(now - HOUR),
        notAfter: new Date(Math.min(now + 30 * DAY, this.certificate.notAfter.getTime())),
        publicKey: keys.publicKey,
        signingKey: this.signingKey,
        signingAlgorithm: SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
          new x509.SubjectAlternativeNameExtension(
            [host, ...extraNames].map((name) => ({ type: isIP(name) === 0 ? ("dns" as const) : ("ip" as const), value: name })),
            false,
          ),
          await (this.authorityKeyId ??= x509.AuthorityKeyIdentifierExtension.create(this.certificate, false, crypto)),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
    return { certificatePem: leaf.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
  }

  private async mint(host: string): Promise<SecureContext> {
    const started = performance.now();
    const leaf = await this.mintLeaf(host);
    const context = createSecureContext({ key: leaf.keyPem, cert: `${leaf.certificatePem}\n${this.certificatePem}`, minVersion: "TLSv1.2" });
    this.onMint?.(host, performance.now() - started);
    return context;
  }
}

function serial(): string {
  // Positive 16-byte serial: clear the top bit.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}
