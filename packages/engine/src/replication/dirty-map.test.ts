import { describe, expect, it } from "vitest";
import { DIRTY_BLOCK, DirtyMap } from "./dirty-map";

describe("DirtyMap", () => {
  it("clips marks to the volume, and covers the new end once grown", () => {
    const map = new DirtyMap(8 * DIRTY_BLOCK);
    map.mark(6 * DIRTY_BLOCK, 4 * DIRTY_BLOCK);
    expect(map.dirtyBlocks).toBe(2);
    map.grow(16 * DIRTY_BLOCK);
    expect(map.sizeBytes).toBe(16 * DIRTY_BLOCK);
    expect(map.blocks).toBe(16);
    // Blocks past the old end start clean.
    expect(map.dirtyBlocks).toBe(2);
    map.mark(12 * DIRTY_BLOCK, DIRTY_BLOCK);
    expect(map.nextRun(8 * DIRTY_BLOCK, 1 << 20)).toEqual({ offset: 12 * DIRTY_BLOCK, length: DIRTY_BLOCK });
    map.grow(4 * DIRTY_BLOCK); // never shrinks
    expect(map.blocks).toBe(16);
  });
});
