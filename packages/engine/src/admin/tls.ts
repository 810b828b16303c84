// @peculiar/x509 resolves its services through tsyringe, which needs the polyfill loaded first.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import * as x509 from "@peculiar/x509";
import type { PemPair } from "../replication/tls";

/**
 * Who may call the admin API over the network. The HTTPS listener
 * (`serve --admin-tls`) asks for a client certificate issued by the cluster
 * CA, and the certificate must be marked for administration:
 *
 *   - extended key usage clientAuth, and
 *   - subject organization `stowage-admin` (the way Kubernetes marks
 *     `system:masters`).
 *
 * Node certificates come from the same CA but carry no organization, so a
 * node's own key cannot drive the cluster through another node's admin API.
 * The common name of an admin certificate is `stowage-admin:NAME`: never a DNS
 * label, so it cannot pass for a node id on the replication port either.
 */
export const ADMIN_ORGANIZATION = "stowage-admin";
export const ADMIN_CN_PREFIX = "stowage-admin:";
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

/** Files of an admin client's TLS directory (`cert admin --out DIR`; a Secret mount in Kubernetes). */
export const ADMIN_TLS_FILES = { ca: "ca.pem", cert: "admin.pem", key: "admin-key.pem" } as const;

/** PEM material a client presents to the HTTPS admin endpoint and the CA it checks the node against. */
export interface AdminClientTls {
  ca: string;
  cert: string;
  key: string;
}

/** PEM material the HTTPS admin listener serves with: the node's certificate and the cluster CA. */
export interface AdminServerTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
x509.cryptoProvider.set(webcrypto);

function exportKeyPem(der: ArrayBuffer): string {
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

/** The CA's key; the CA certificate says which curve (the cluster CA is P-256, see replication/tls.ts). */
async function importCaKey(pem: string): Promise<webcrypto.CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return webcrypto.subtle.importKey("pkcs8", Buffer.from(b64, "base64"), alg, false, ["sign"]);
}

function serial(): string {
  // Positive 128-bit serial (leading nibble < 8 keeps the DER integer positive).
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f;
  return Buffer.from(b).toString("hex");
}

/** Admin names go into a certificate subject: keep them to what needs no escaping. */
export const ADMIN_NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** Issues a client certificate for the admin API from the cluster CA (`stowage-engine cert admin`). */
export async function issueAdminCertificate(ca: PemPair, name: string, validDays = 365): Promise<PemPair> {
  if (!ADMIN_NAME_PATTERN.test(name)) throw new Error(`admin name must be 1-63 of [a-z0-9.-], got '${name}'`);
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${ADMIN_CN_PREFIX}${name}, O=${ADMIN_ORGANIZATION}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + validDays * 86_400_000),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: await importCaKey(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // Client only: an admin certificate cannot serve as a node's server certificate.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: exportKeyPem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)) };
}

/**
 * Whether a client certificate (already verified against the cluster CA by the
 * TLS handshake) is marked for administration. Returns the reason when not.
 */
export function adminCertificateProblem(peer: Pick<PeerCertificate, "subject" | "ext_key_usage"> | undefined): string | null {
  if (peer?.subject === undefined) return "no client certificate";
  const organization = peer.subject.O;
  const organizations = Array.isArray(organization) ? organization : [organization];
  if (!organizations.includes(ADMIN_ORGANIZATION)) return `the client certificate's subject has no O=${ADMIN_ORGANIZATION}`;
  if (!(peer.ext_key_usage ?? []).includes(CLIENT_AUTH_OID)) return "the client certificate is not for client authentication";
  return null;
}
