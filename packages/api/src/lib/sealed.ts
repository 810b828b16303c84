import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Authenticated encryption for small secrets at rest (AES-256-GCM). The key
 * is derived with HKDF-SHA256 from the deployment's auth secret and a
 * purpose label, so each use has its own key and rotating the auth secret
 * makes old envelopes unreadable (for caches like the idempotency store,
 * that only means a retry runs afresh).
 *
 * Envelope: version (1 byte) | IV (12) | tag (16) | ciphertext. `aad` binds
 * an envelope to its row, so one row's ciphertext cannot be replayed in another.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class Sealer {
  private readonly key: Buffer;

  constructor(secret: string, purpose: string) {
    this.key = Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from("stowage/sealed/v1", "utf8"), Buffer.from(purpose, "utf8"), 32));
  }

  seal(plaintext: Buffer, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ct]);
  }

  /** Null when the envelope is malformed, tampered with, or sealed under another key. */
  open(envelope: Uint8Array, aad: string): Buffer | null {
    const buf = Buffer.from(envelope);
    if (buf.length < 1 + IV_BYTES + TAG_BYTES || buf[0] !== VERSION) return null;
    const iv = buf.subarray(1, 1 + IV_BYTES);
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, iv);
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      return null;
    }
  }
}
