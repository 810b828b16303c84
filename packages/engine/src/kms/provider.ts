import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { EngineError } from "../errors";

/**
 * Key-encryption-key (KEK) providers. A volume's random data key (DEK) is
 * wrapped by a KEK that never leaves the provider's trust domain (for Vault
 * transit it never leaves Vault); only the wrapped form is stored on disk.
 */
export interface KeyContext {
  /** Bound into the wrap as associated data so a wrapped key can't be moved to another volume. */
  readonly volumeId: string;
}

/** A wrapped data key as stored in the volume superblock. */
export interface WrappedKey {
  /** Provider kind, e.g. "local-file", "kubernetes-secret", "vault-transit". */
  readonly provider: string;
  /** Which KEK wrapped it (a fingerprint or a key name); never the key itself. */
  readonly keyId: string;
  readonly ciphertext: string;
}

export interface KmsProvider {
  readonly kind: string;
  wrapKey(plaintext: Buffer, context: KeyContext): Promise<WrappedKey>;
  unwrapKey(wrapped: WrappedKey, context: KeyContext): Promise<Buffer>;
}

/** Short public fingerprint of a KEK, so a wrong key is named as such before any decryption. */
export function kekFingerprint(kek: Buffer): string {
  return createHash("sha256").update("stowage-kek-id-v1").update(kek).digest().subarray(0, 8).toString("hex");
}

/** Accepts a KEK as 32 raw bytes, 64 hex characters or base64 text (trailing newline allowed). */
export function parseKek(material: Buffer | string): Buffer {
  if (typeof material !== "string" && material.length === 32) return Buffer.from(material);
  const text = (typeof material === "string" ? material : material.toString("utf8")).trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/=_-]+$/.test(text)) {
    const b = Buffer.from(text, "base64");
    if (b.length === 32) return b;
  }
  throw new EngineError("INVALID", "key-encryption key must be 32 bytes (raw, hex or base64)");
}

const WRAP_VERSION = 1;

/**
 * AES-256-GCM wrap used by the providers that hold the KEK locally.
 * Layout (base64): version u8 | nonce 12 | tag 16 | ciphertext. GCM
 * authenticates the wrap, so a wrong KEK is an error, never a garbage DEK.
 */
export function gcmWrap(kek: Buffer, plaintext: Buffer, context: KeyContext): string {
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", kek, nonce);
  c.setAAD(Buffer.from(`stowage-dek-v1:${context.volumeId}`));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, c.getAuthTag(), ct]).toString("base64");
}

export function gcmUnwrap(kek: Buffer, wrapped: string, context: KeyContext): Buffer {
  const raw = Buffer.from(wrapped, "base64");
  if (raw.length < 29 || raw[0] !== WRAP_VERSION) throw new EngineError("INVALID", "wrapped key has an unknown format");
  const d = createDecipheriv("aes-256-gcm", kek, raw.subarray(1, 13));
  d.setAAD(Buffer.from(`stowage-dek-v1:${context.volumeId}`));
  d.setAuthTag(raw.subarray(13, 29));
  try {
    return Buffer.concat([d.update(raw.subarray(29)), d.final()]);
  } catch (err) {
    throw new EngineError("WRONG_KEY", "data key unwrap failed: wrong key-encryption key or tampered wrap", { cause: err });
  }
}

/** Shared unwrap path for the providers that hold the KEK: fingerprint first, then GCM. */
export function unwrapWithKek(kind: string, kek: Buffer, wrapped: WrappedKey, context: KeyContext): Buffer {
  if (wrapped.provider !== kind) {
    throw new EngineError("INVALID", `wrapped key belongs to provider "${wrapped.provider}", not "${kind}"`);
  }
  if (wrapped.keyId !== kekFingerprint(kek)) {
    throw new EngineError("WRONG_KEY", `key-encryption key mismatch: volume was wrapped with key ${wrapped.keyId}`);
  }
  return gcmUnwrap(kek, wrapped.ciphertext, context);
}
