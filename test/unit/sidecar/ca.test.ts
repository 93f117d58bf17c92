import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { CertificateAuthority } from "../../../sidecar/ca.js";

test("leaf certificates are ECDSA P-256 with SAN, serverAuth, AKI, and chain to the CA", async () => {
  const ca = await CertificateAuthority.create();
  const { certificatePem } = await ca.mintLeaf("api.example.test");
  const leaf = new X509Certificate(certificatePem);
  const root = new X509Certificate(ca.certificatePem);
  assert.equal(leaf.publicKey.asymmetricKeyType, "ec");
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.equal(leaf.subjectAltName, "DNS:api.example.test");
  assert.ok(leaf.checkIssued(root));
  assert.ok(leaf.verify(root.publicKey));
  assert.equal(leaf.ca, false);
  assert.equal(root.ca, true);
  assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // Node reports the EKU here: serverAuth
  const text = leaf.toLegacyObject();
  assert.ok(text.ext_key_usage?.includes("1.3.6.1.5.5.7.3.1"));
  assert.match(leaf.toString(), /BEGIN CERTIFICATE/);
  assert.ok(/keyid:/i.test(JSON.stringify(text)) || leaf.raw.includes(Buffer.from([0x55, 0x1d, 0x23])), "has an AuthorityKeyIdentifier (2.5.29.35)");
});

test("the CA certificate is written; each CA is different; the key is not extractable", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sidecar-ca-"));
  const a = await CertificateAuthority.create();
  const b = await CertificateAuthority.create();
  const path = await a.writeCertificate(dir);
  assert.equal(await readFile(path, "utf8"), a.certificatePem);
  assert.notEqual(a.certificatePem, b.certificatePem);
  assert.ok(!a.certificatePem.includes("PRIVATE KEY"));
});

test("concurrent handshakes for one host share one mint", async () => {
  const mints: string[] = [];
  const ca = await CertificateAuthority.create({ onMint: (host) => mints.push(host) });
  const contexts = await Promise.all(Array.from({ length: 20 }, () => ca.contextFor("same.example.test")));
  assert.equal(mints.length, 1);
  assert.ok(contexts.every((context) => context === contexts[0]));
  await ca.contextFor("other.example.test");
  assert.deepEqual(mints, ["same.example.test", "other.example.test"]);
});

test("a client trusting only the CA completes a handshake with a minted leaf", async () => {
  const ca = await CertificateAuthority.create();
  const context = await ca.contextFor("api.example.test");
  const server = createServer({ SNICallback: (_name, callback) => callback(null, context) }, (socket: TLSSocket) => socket.end("ok"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const client = connect({ host: "127.0.0.1", port, servername: "api.example.test", ca: ca.certificatePem });
  const [data] = (await once(client, "data")) as [Buffer];
  assert.equal(data.toString(), "ok");
  assert.equal(client.authorized, true);
  client.destroy();
  server.close();
});
