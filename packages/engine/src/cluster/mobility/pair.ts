// @peculiar/x509 resolves its services through tsyringe, which needs the polyfill loaded first.
import "reflect-metadata";
/**
 * Trust between two engine clusters. Cluster `west` lets cluster `east` in by
 * issuing a PAIR certificate from west's cluster CA (`mobility pair issue`):
 *
 *   - subject `CN=stowage-pair:east, O=stowage-mobility-pair`, extended key
 *     usage clientAuth only: it can neither serve as a node's server
 *     certificate nor pass for a node (node certificates carry no O) or an
 *     admin (O=stowage-admin);
 *   - handed over as a bundle with west's CA certificate and west's mobility
 *     endpoints, which east installs with `mobility peer add`.
 *
 * West's endpoints accept only client certificates chaining to west's CA
 * (checked in the handshake) that are pair certificates (checked right after
 * it, before any message is read). East checks west's node certificates
 * against the CA in the bundle. Anything else is refused before data moves.
 *
 * At rest on east the pair key lives in east's etcd: encrypted (AES-256-GCM
 * under a random key wrapped by the node's KEK) when the node adding the peer
 * has a key-encryption key (`--kms-key-file`), else as is — etcd access is then
 * the protection, and `peer add` says so.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import * as x509 from "@peculiar/x509";
import { z } from "zod";
import type { NodeKek } from "../../kms/volume-keys";
import { EngineError } from "../../errors";
import type { PemPair } from "../../replication/tls";
import type { StoredKey } from "./records";

export const PAIR_ORGANIZATION = "stowage-mobility-pair";
export const PAIR_CN_PREFIX = "stowage-pair:";
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
export const PEER_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
x509.cryptoProvider.set(webcrypto);

export const pairBundleSchema = z.object({
  kind: z.literal("stowage-mobility-pair"),
  v: z.literal(1),
  /** The issuing cluster: the peer the bundle lets its holder reach. */
  cluster: z.string().regex(PEER_NAME_PATTERN, "cluster must be a DNS label"),
  /** Who it was issued to. */
  peer: z.string().regex(PEER_NAME_PATTERN, "peer must be a DNS label"),
  endpoints: z.array(z.string().regex(/^[^\s:]+:\d+$/, "endpoints are HOST:PORT")).min(1, "endpoints: at least one"),
  caPem: z.string().includes("BEGIN CERTIFICATE", { message: "caPem is not a PEM certificate" }),
  certPem: z.string().includes("BEGIN CERTIFICATE", { message: "certPem is not a PEM certificate" }),
  keyPem: z.string().includes("PRIVATE KEY", { message: "keyPem is not a PEM private key" }),
});
export type PairBundle = z.infer<typeof pairBundleSchema>;

function pem(der: ArrayBuffer): string {
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f;
  return Buffer.from(b).toString("hex");
}

/** Issues the pair certificate for `peer` from the cluster CA `ca` (the issuing cluster's). */
export async function issuePairCertificate(ca: PemPair, peer: string, validDays = 825): Promise<PemPair> {
  if (!PEER_NAME_PATTERN.test(peer)) throw new EngineError("INVALID", `peer: must be a DNS label, got '${peer}'`);
  const caCert = new x509.X509Certificate(ca.certPem);
  const b64 = ca.keyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const caKey = await webcrypto.subtle.importKey("pkcs8", Buffer.from(b64, "base64"), alg, false, ["sign"]);
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${PAIR_CN_PREFIX}${peer}, O=${PAIR_ORGANIZATION}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + validDays * 86_400_000),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: pem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)) };
}

export async function issuePairBundle(ca: PemPair, opts: { cluster: string; peer: string; endpoints: string[] }): Promise<PairBundle> {
  const pair = await issuePairCertificate(ca, opts.peer);
  return pairBundleSchema.parse({ kind: "stowage-mobility-pair", v: 1, cluster: opts.cluster, peer: opts.peer, endpoints: opts.endpoints, caPem: ca.certPem, certPem: pair.certPem, keyPem: pair.keyPem });
}

/**
 * Whether a client certificate (already verified against this cluster's CA by
 * the handshake) is a pair certificate. Returns the peer name, or the reason.
 */
export function pairPeerOf(peer: Pick<PeerCertificate, "subject" | "ext_key_usage"> | undefined): { peer: string } | { problem: string } {
  if (peer?.subject === undefined) return { problem: "no client certificate" };
  const o = peer.subject.O;
  const orgs = Array.isArray(o) ? o : [o];
  if (!orgs.includes(PAIR_ORGANIZATION)) return { problem: `the client certificate's subject has no O=${PAIR_ORGANIZATION}` };
  if (!(peer.ext_key_usage ?? []).includes(CLIENT_AUTH_OID)) return { problem: "the client certificate is not for client authentication" };
  const cn = peer.subject.CN;
  const name = (Array.isArray(cn) ? cn[0] : cn) ?? "";
  if (!name.startsWith(PAIR_CN_PREFIX)) return { problem: `the client certificate's CN is not ${PAIR_CN_PREFIX}NAME` };
  return { peer: name.slice(PAIR_CN_PREFIX.length) };
}

/** Checks a bundle's certificate against its CA and its key, so a bad bundle is refused at `peer add`, not at the first run. */
export function checkBundle(b: PairBundle): void {
  const ca = new X509Certificate(b.caPem);
  const cert = new X509Certificate(b.certPem);
  if (!cert.verify(ca.publicKey)) throw new EngineError("INVALID", "bundle: certPem is not signed by caPem");
  if (!cert.checkPrivateKey(createPrivateKey(b.keyPem))) throw new EngineError("INVALID", "bundle: keyPem does not belong to certPem");
  if (!cert.subject.includes(`CN=${PAIR_CN_PREFIX}${b.peer}`)) throw new EngineError("INVALID", `bundle: the certificate is not issued to ${b.peer}`);
}


/** The pair key as stored: sealed under a KEK-wrapped random key when the node has a KEK. */
export async function sealPairKey(keyPem: string, peer: string, kms: NodeKek | undefined): Promise<StoredKey> {
  if (!kms) return { kind: "plain", pem: keyPem };
  const dek = randomBytes(64);
  try {
    const wrapped = await kms.provider.wrapKey(dek, { volumeId: `mobility-peer:${peer}` });
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", dek.subarray(0, 32), iv);
    const ciphertext = Buffer.concat([c.update(keyPem, "utf8"), c.final()]);
    return { kind: "kms", wrapped: { provider: wrapped.provider, keyId: wrapped.keyId, ciphertext: wrapped.ciphertext }, iv: iv.toString("base64"), tag: c.getAuthTag().toString("base64"), ciphertext: ciphertext.toString("base64") };
  } finally {
    dek.fill(0);
  }
}

export async function openPairKey(stored: StoredKey, peer: string, kms: NodeKek | undefined): Promise<string> {
  if (stored.kind === "plain") return stored.pem;
  if (!kms) throw new EngineError("KEY", `peer ${peer}: its pair key is wrapped with the key-encryption key ${stored.wrapped.keyId}; this node has none (--kms-key-file)`);
  const dek = await kms.provider.unwrapKey(stored.wrapped, { volumeId: `mobility-peer:${peer}` });
  try {
    const d = createDecipheriv("aes-256-gcm", dek.subarray(0, 32), Buffer.from(stored.iv, "base64"));
    d.setAuthTag(Buffer.from(stored.tag, "base64"));
    return Buffer.concat([d.update(Buffer.from(stored.ciphertext, "base64")), d.final()]).toString("utf8");
  } finally {
    dek.fill(0);
  }
}
