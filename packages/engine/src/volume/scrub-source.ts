/**
 * The scrubber's view of a volume (src/scrub walks it): every stored slot of
 * the head and the snapshots, and a check of one slot's stored blocks against
 * their checksums under a shared lock on its extent.
 *
 * Apart from the read path because it reads slots as stored, without
 * resolving versions or decrypting: a scrub needs no keys, and it must see
 * blocks of hidden snapshots that no read reaches.
 */
import { crc32 } from "node:zlib";
import { anySet, testBit } from "../util/bitmap";
import { BLOCK_SIZE, BLOCKS_PER_EXTENT } from "./geometry";
import { physicalPosition, type VolumeCore } from "./volume-core";

/** Internal view for the scrubber: slots to walk, and verification under the right lock. */
export interface ScrubSource {
  readonly name: string;
  listSlots(): Array<{ slot: number; extent: number; version: number; snapshot: string | null; hidden: boolean }>;
  /** Returns the bad block indexes (0..1023) within the slot, or null when the slot is gone. */
  verifySlot(slot: number, scratch: Buffer): Promise<number[] | null>;
}

/** The scrubber's view of a volume: walks head and snapshot slots. */
export function scrubSource(core: VolumeCore): ScrubSource {
  return {
    name: core.name,
    listSlots: () =>
      [...core.map.slots.values()].map((s) => {
        const v = core.map.versions.get(s.version);
        return {
          slot: s.id,
          extent: s.extent,
          version: s.version,
          snapshot: v && v !== core.map.head ? v.name : null,
          hidden: v ? v !== core.map.head && v.deleted : true,
        };
      }),
    verifySlot: async (id, scratch) => {
      core.assertUsable();
      const pre = core.map.slots.get(id);
      if (!pre) return null;
      const h = await core.locks.acquire(pre.extent * BLOCKS_PER_EXTENT, (pre.extent + 1) * BLOCKS_PER_EXTENT, false);
      try {
        const slot = core.map.slots.get(id);
        if (slot !== pre) return null;
        if (slot.bad) return Array.from({ length: BLOCKS_PER_EXTENT }, (_, i) => i);
        const fh = await core.segment(slot.id);
        const bad: number[] = [];
        const chunk = Math.floor(scratch.length / BLOCK_SIZE);
        for (let b = 0; b < BLOCKS_PER_EXTENT; b += chunk) {
          const n = Math.min(chunk, BLOCKS_PER_EXTENT - b);
          if (!anySet(slot.present, b, b + n)) continue;
          const { bytesRead } = await fh.read(scratch, 0, n * BLOCK_SIZE, physicalPosition(slot.id, b));
          if (bytesRead < n * BLOCK_SIZE) scratch.fill(0, bytesRead, n * BLOCK_SIZE);
          for (let i = 0; i < n; i++) {
            if (!testBit(slot.present, b + i)) continue;
            if (crc32(scratch.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)) !== slot.crc[b + i]) bad.push(b + i);
          }
        }
        return bad;
      } finally {
        core.locks.release(h);
      }
    },
  };
}
