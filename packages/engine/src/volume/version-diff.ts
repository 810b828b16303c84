import type { ExtentMap, Version } from "./extent-map";
import { BITMAP_BYTES, BLOCK_SIZE, BLOCKS_PER_EXTENT, EXTENT_SIZE } from "./geometry";

export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Changed ranges between versions `from` and `to`, from metadata only.
 *
 * Every block written, trimmed or zeroed in a version is recorded in that
 * version's slot bitmaps (present | zero). So the blocks that can differ
 * between two versions are exactly those touched on the two paths up to their
 * lowest common ancestor. `from` null diffs against an empty volume: every
 * range that reads as stored data in `to`.
 */
export function diffVersions(map: ExtentMap, from: Version | null, to: Version): ByteRange[] {
  if (from === null) return storedRanges(map, to);
  const ancestorsOfFrom = new Set<Version>();
  for (let v: Version | null = from; v; v = v.parent) ancestorsOfFrom.add(v);
  let lca: Version | null = to;
  while (lca && !ancestorsOfFrom.has(lca)) lca = lca.parent;
  const path: Version[] = [];
  for (let v: Version | null = from; v && v !== lca; v = v.parent) path.push(v);
  for (let v: Version | null = to; v && v !== lca; v = v.parent) path.push(v);

  const extents = new Set<number>();
  for (const v of path) for (const e of v.slots.keys()) extents.add(e);
  const sorted = [...extents].sort((a, b) => a - b);
  const limit = Math.max(from.size, to.size);
  const bits = new Uint8Array(BITMAP_BYTES);
  const out: ByteRange[] = [];
  for (const e of sorted) {
    bits.fill(0);
    for (const v of path) {
      const s = v.slots.get(e);
      if (!s) continue;
      for (let i = 0; i < BITMAP_BYTES; i++) bits[i] = (bits[i] ?? 0) | (s.present[i] ?? 0) | (s.zero[i] ?? 0);
    }
    emitRuns(bits, e, limit, out);
  }
  return out;
}

function storedRanges(map: ExtentMap, to: Version): ByteRange[] {
  const extents = new Set<number>();
  for (let v: Version | null = to; v; v = v.parent) for (const e of v.slots.keys()) extents.add(e);
  const sorted = [...extents].sort((a, b) => a - b);
  const bits = new Uint8Array(BITMAP_BYTES);
  const out: ByteRange[] = [];
  for (const e of sorted) {
    bits.fill(0);
    for (let b = 0; b < BLOCKS_PER_EXTENT; b++) if (map.resolve(to, e, b)) bits[b >> 3] = (bits[b >> 3] ?? 0) | (1 << (b & 7));
    emitRuns(bits, e, to.size, out);
  }
  return out;
}

function emitRuns(bits: Uint8Array, extent: number, limit: number, out: ByteRange[]): void {
  const base = extent * EXTENT_SIZE;
  let b = 0;
  while (b < BLOCKS_PER_EXTENT) {
    if (bits[b >> 3] === 0 && (b & 7) === 0) {
      b += 8;
      continue;
    }
    if (((bits[b >> 3] ?? 0) & (1 << (b & 7))) === 0) {
      b++;
      continue;
    }
    let e = b + 1;
    while (e < BLOCKS_PER_EXTENT && ((bits[e >> 3] ?? 0) & (1 << (e & 7))) !== 0) e++;
    const start = base + b * BLOCK_SIZE;
    const end = Math.min(base + e * BLOCK_SIZE, limit);
    if (end > start) {
      const prev = out.at(-1);
      if (prev && prev.offset + prev.length === start) prev.length += end - start;
      else out.push({ offset: start, length: end - start });
    }
    b = e;
  }
}
