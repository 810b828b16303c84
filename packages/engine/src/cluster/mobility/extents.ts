/**
 * Extent plans and digests. A run sends the snapshot diff grouped by 4 MiB
 * extent (the engine's allocation and resync unit): one frame per extent, in
 * ascending order, so the destination's cursor is one number. Verify compares
 * a SHA-256 per extent of the snapshot's stored bytes on both sides.
 */
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { BlockDevice } from "../../block-device";
import { EXTENT_SIZE } from "../../volume/geometry";
import type { ByteRange } from "../../volume/version-diff";
import { Compression, type ExtentRange } from "./wire";

const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);

export interface ExtentPlan {
  extent: number;
  ranges: ExtentRange[];
  bytes: number;
}

/** Splits byte ranges (sorted, as diffs come) at extent boundaries. */
export function planExtents(ranges: readonly ByteRange[]): ExtentPlan[] {
  const out: ExtentPlan[] = [];
  for (const r of ranges) {
    let at = r.offset;
    const end = r.offset + r.length;
    while (at < end) {
      const extent = Math.floor(at / EXTENT_SIZE);
      const stop = Math.min(end, (extent + 1) * EXTENT_SIZE);
      let plan = out.at(-1);
      if (plan?.extent !== extent) {
        plan = { extent, ranges: [], bytes: 0 };
        out.push(plan);
      }
      plan.ranges.push({ offset: at - extent * EXTENT_SIZE, length: stop - at });
      plan.bytes += stop - at;
      at = stop;
    }
  }
  return out;
}

/** The stored bytes of a plan's ranges, concatenated (into the start of `into`, when given: a pooled buffer). */
export async function readExtent(device: BlockDevice, plan: ExtentPlan, into?: Buffer): Promise<Buffer> {
  const out = into ? into.subarray(0, plan.bytes) : Buffer.allocUnsafe(plan.bytes);
  let at = 0;
  for (const r of plan.ranges) {
    await device.read(plan.extent * EXTENT_SIZE + r.offset, out.subarray(at, at + r.length));
    at += r.length;
  }
  return out;
}

export function sha256(data: Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

/** Deflate level 1 (fast); a sample that saves under 10% is sent raw (ciphertext, random data). */
export async function compressForWire(raw: Buffer): Promise<{ compression: number; body: Buffer }> {
  const sample = raw.subarray(0, Math.min(raw.length, 16_384));
  const small = zlib.deflateRawSync(sample, { level: 1 });
  if (small.length > sample.length * 0.9) return { compression: Compression.None, body: raw };
  const body = await deflateRaw(raw, { level: 1 });
  return body.length < raw.length ? { compression: Compression.DeflateRaw, body } : { compression: Compression.None, body: raw };
}

export async function decompressFromWire(compression: number, body: Buffer, rawLength: number): Promise<Buffer> {
  if (compression === Compression.None) return body;
  const raw = await inflateRaw(body, { maxOutputLength: rawLength });
  return raw;
}

const ZERO_EXTENT_DIGEST = sha256(Buffer.alloc(EXTENT_SIZE)).toString("hex");

/** SHA-256 of each extent's whole 4 MiB (holes read as zeros), for the extents given. */
export async function extentDigests(device: BlockDevice, extents: Iterable<number>): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const buf = Buffer.allocUnsafe(EXTENT_SIZE);
  for (const e of extents) {
    const length = Math.min(EXTENT_SIZE, device.size - e * EXTENT_SIZE);
    if (length <= 0) continue;
    const view = buf.subarray(0, length);
    await device.read(e * EXTENT_SIZE, view);
    out.set(e, length === EXTENT_SIZE ? sha256(view).toString("hex") : createHash("sha256").update(view).update(Buffer.alloc(EXTENT_SIZE - length)).digest("hex"));
  }
  return out;
}

export function zeroExtentDigest(): string {
  return ZERO_EXTENT_DIGEST;
}

/** The extents any range touches. */
export function extentsOf(ranges: readonly ByteRange[]): Set<number> {
  return new Set(planExtents(ranges).map((p) => p.extent));
}

export function isAllZero(b: Buffer): boolean {
  // Compare in 4 KiB windows against one zero page: fast (memcmp) and allocation-free.
  for (let at = 0; at < b.length; at += ZERO_PAGE.length) {
    const end = Math.min(b.length, at + ZERO_PAGE.length);
    if (b.compare(ZERO_PAGE, 0, end - at, at, end) !== 0) return false;
  }
  return true;
}
const ZERO_PAGE = Buffer.alloc(65_536);
