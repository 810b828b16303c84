import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";

/** A fresh temporary directory and its cleanup, for tests. */
export async function tempDir(prefix = "stowage-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A fresh temporary directory for every test of the calling file, handed to
 * `use` before the test and removed after it.
 */
export function useTempDir(use: (dir: string) => void, prefix?: string): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const t = await tempDir(prefix);
    cleanup = t.cleanup;
    use(t.dir);
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
}

/** Reads `length` bytes at `offset` into a buffer pre-filled with 0xee, so bytes a read leaves untouched show. */
export async function readBack(dev: { read(offset: number, target: Buffer): Promise<void> }, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length, 0xee);
  await dev.read(offset, buf);
  return buf;
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (i + 4 <= length) out.writeUInt32LE(x, i);
    else for (let j = i; j < length; j++) out[j] = (x >>> ((j - i) * 8)) & 0xff;
  }
  return out;
}
