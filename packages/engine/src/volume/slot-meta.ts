import { crc32 } from "node:zlib";
import { BITMAP_BYTES, BLOCKS_PER_EXTENT } from "./geometry";

/**
 * Per-slot metadata page in `slots.meta`: the CRC-32 of each of the 1024
 * blocks of the slot's extent, a presence bitmap (block stored here) and a
 * zero bitmap (block reads as zeros without falling through to an older
 * snapshot).
 *
 * Pages are written only at FLUSH, after the data they describe was
 * fdatasync'ed, so a durable page never vouches for data that isn't durable.
 * Each slot has two copies written alternately (by page generation) so a page
 * torn by a crash mid-flush leaves the previous copy intact.
 *
 * Page format, version 1 (8 KiB, little-endian):
 *   0 u32 magic "STMP" | 4 u16 version | 6 u16 0 | 8 u32 slot | 12 u32 owner version |
 *   16 u32 extent | 20 u32 incarnation | 24 f64 page generation |
 *   32 u32[1024] block CRCs | 4128 u8[128] present | 4256 u8[128] zero |
 *   8188 u32 crc32(bytes 0..8188)
 * Copy c of slot s lives at s × 16 KiB + c × 8 KiB.
 */
export const META_FILE = "slots.meta";
export const META_PAGE_BYTES = 8192;
export const META_SLOT_BYTES = 2 * META_PAGE_BYTES;
export const META_FORMAT_VERSION = 1;
const MAGIC = 0x504d5453; // "STMP"
const CRC_OFF = 32;
const PRESENT_OFF = CRC_OFF + 4 * BLOCKS_PER_EXTENT;
const ZERO_OFF = PRESENT_OFF + BITMAP_BYTES;
const PAGE_CRC_OFF = META_PAGE_BYTES - 4;

export interface MetaPage {
  slot: number;
  owner: number;
  extent: number;
  incarnation: number;
  generation: number;
  crc: Uint32Array;
  present: Uint8Array;
  zero: Uint8Array;
}

export function metaPagePosition(slot: number, copy: number): number {
  return slot * META_SLOT_BYTES + copy * META_PAGE_BYTES;
}

export function encodeMetaPage(page: MetaPage, out: Buffer, at: number): void {
  const b = out.subarray(at, at + META_PAGE_BYTES);
  b.fill(0);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(META_FORMAT_VERSION, 4);
  b.writeUInt32LE(page.slot, 8);
  b.writeUInt32LE(page.owner, 12);
  b.writeUInt32LE(page.extent, 16);
  b.writeUInt32LE(page.incarnation, 20);
  b.writeDoubleLE(page.generation, 24);
  Buffer.from(page.crc.buffer, page.crc.byteOffset, page.crc.byteLength).copy(b, CRC_OFF);
  Buffer.from(page.present.buffer, page.present.byteOffset, BITMAP_BYTES).copy(b, PRESENT_OFF);
  Buffer.from(page.zero.buffer, page.zero.byteOffset, BITMAP_BYTES).copy(b, ZERO_OFF);
  b.writeUInt32LE(crc32(b.subarray(0, PAGE_CRC_OFF)), PAGE_CRC_OFF);
}

/** Returns undefined for an empty, torn or foreign page. Host is little-endian (x86/arm64). */
export function decodeMetaPage(buf: Buffer, at: number): MetaPage | undefined {
  if (buf.length < at + META_PAGE_BYTES) return undefined;
  const b = buf.subarray(at, at + META_PAGE_BYTES);
  if (b.readUInt32LE(0) !== MAGIC || b.readUInt16LE(4) !== META_FORMAT_VERSION) return undefined;
  if (b.readUInt32LE(PAGE_CRC_OFF) !== crc32(b.subarray(0, PAGE_CRC_OFF))) return undefined;
  const crc = new Uint32Array(BLOCKS_PER_EXTENT);
  Buffer.from(crc.buffer).set(b.subarray(CRC_OFF, PRESENT_OFF));
  return {
    slot: b.readUInt32LE(8),
    owner: b.readUInt32LE(12),
    extent: b.readUInt32LE(16),
    incarnation: b.readUInt32LE(20),
    generation: b.readDoubleLE(24),
    crc,
    present: Uint8Array.from(b.subarray(PRESENT_OFF, ZERO_OFF)),
    zero: Uint8Array.from(b.subarray(ZERO_OFF, ZERO_OFF + BITMAP_BYTES)),
  };
}
