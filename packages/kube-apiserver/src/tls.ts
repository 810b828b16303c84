// @peculiar/x509 resolves its services through tsyringe, which needs the polyfill loaded first.
import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/** A CA and a serving certificate for 127.0.0.1/localhost, generated at start or kept in a cert dir. */
export interface ServingCerts {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
x509.cryptoProvider.set(webcrypto);

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f;
  return Buffer.from(b).toString("hex");
}

export async function generateServingCerts(hosts: string[]): Promise<ServingCerts> {
  const now = Date.now();
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=stowage-kube-apiserver-ca",
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * 86_400_000),
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey)],
  });
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const ips = hosts.filter((h) => /^[\d.]+$|:/.test(h));
  const dns = hosts.filter((h) => !ips.includes(h));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=kube-apiserver",
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 825 * 86_400_000),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...dns.map((value) => ({ type: "dns" as const, value })), ...ips.map((value) => ({ type: "ip" as const, value }))]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { caPem: ca.toString("pem"), certPem: cert.toString("pem"), keyPem: await keyPem(keys.privateKey) };
}

/** Certificates from `dir` (ca.crt, apiserver.crt, apiserver.key), generated and written there when absent. */
export async function loadOrCreateCerts(dir: string | undefined, hosts: string[]): Promise<ServingCerts> {
  if (dir === undefined) return generateServingCerts(hosts);
  const files = { caPem: path.join(dir, "ca.crt"), certPem: path.join(dir, "apiserver.crt"), keyPem: path.join(dir, "apiserver.key") };
  if (Object.values(files).every((f) => fs.existsSync(f))) {
    return { caPem: fs.readFileSync(files.caPem, "utf8"), certPem: fs.readFileSync(files.certPem, "utf8"), keyPem: fs.readFileSync(files.keyPem, "utf8") };
  }
  const certs = await generateServingCerts(hosts);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(files.caPem, certs.caPem);
  fs.writeFileSync(files.certPem, certs.certPem);
  fs.writeFileSync(files.keyPem, certs.keyPem, { mode: 0o600 });
  return certs;
}
