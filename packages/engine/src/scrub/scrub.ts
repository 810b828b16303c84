import type { Volume } from "../volume/volume";
import { BLOCK_SIZE, EXTENT_SIZE } from "../volume/geometry";

export interface BadBlock {
  /** Byte offset of the block in the volume (or snapshot). */
  offset: number;
  /** Snapshot holding the block, or null for the live head. */
  snapshot: string | null;
  /** True when the block belongs to a deleted snapshot still being merged. */
  hidden: boolean;
  slot: number;
}

export interface ScrubReport {
  volume: string;
  extentsScanned: number;
  badBlocks: BadBlock[];
  durationMs: number;
}

export interface ScrubOptions {
  /** Bytes per second to read at most (0 or absent: unthrottled). */
  rateLimitBytesPerSec?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Walks every stored extent of a volume (head and snapshots) and verifies
 * each stored block's CRC against the checksum page. Checksums cover the
 * stored bytes (ciphertext when encrypted) so this needs no keys. Extents
 * are verified under a shared lock on their range: concurrent writes wait
 * for at most one extent.
 */
export async function scrub(volume: Volume, opts: ScrubOptions = {}): Promise<ScrubReport> {
  const started = performance.now();
  const source = volume.scrubSource();
  const slots = source.listSlots().sort((a, b) => a.slot - b.slot);
  const scratch = Buffer.allocUnsafe(1 << 20);
  const badBlocks: BadBlock[] = [];
  let scanned = 0;
  let budgetStart = performance.now();
  let budgetBytes = 0;
  for (const s of slots) {
    opts.signal?.throwIfAborted();
    const bad = await source.verifySlot(s.slot, scratch);
    if (bad === null) continue;
    scanned++;
    for (const b of bad) {
      badBlocks.push({ offset: s.extent * EXTENT_SIZE + b * BLOCK_SIZE, snapshot: s.snapshot, hidden: s.hidden, slot: s.slot });
    }
    opts.onProgress?.(scanned, slots.length);
    const rate = opts.rateLimitBytesPerSec ?? 0;
    if (rate > 0) {
      budgetBytes += EXTENT_SIZE;
      const ahead = budgetBytes / rate - (performance.now() - budgetStart) / 1000;
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000));
      if (budgetBytes > 256 * EXTENT_SIZE) {
        budgetStart = performance.now();
        budgetBytes = 0;
      }
    }
  }
  return { volume: source.name, extentsScanned: scanned, badBlocks, durationMs: performance.now() - started };
}
