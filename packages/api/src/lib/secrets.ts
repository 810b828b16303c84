import { createHash, randomBytes } from "node:crypto";

/** An opaque, high-entropy secret: `<prefix><43 chars of base64url>` (256 bits). */
export function generateSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

/**
 * SHA-256 is enough for these secrets: they are 256-bit random strings, so
 * there is nothing for a slow hash to protect against, and a fast hash lets
 * every request look its key up by hash through a unique index.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
