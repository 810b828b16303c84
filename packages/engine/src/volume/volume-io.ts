/**
 * The read and write paths: READ (range lock, versions resolved per block,
 * CRC verified, decrypted), WRITE under the range lock Volume.write takes
 * (extents reserved up front, read-modify-write of partial blocks,
 * encrypted, pwrite into the page cache, CRCs and bitmaps updated in
 * memory), TRIM and WRITE_ZEROES, and allocated ranges.
 *
 * Apart from durability, recovery and merges because this is the code every
 * request runs: no metadata I/O, no allocation a request can avoid, and its
 * costs should be readable in one file. Durability is reached only to
 * allocate, free or heat a slot, and for FUA.
 */
import { writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { BlockIoError } from "../block-device";
import type { ByteRange } from "./version-diff";
import { allSet, clearBits, isEmpty, setBits } from "../util/bitmap";
import { allocSlot, freeSlot, makeHot, requestFlush } from "./durability";
import type { Slot, Version } from "./extent-map";
import { BLOCK_SHIFT, BLOCK_SIZE, BLOCKS_PER_EXTENT, EXTENT_SIZE, SLOTS_PER_SEGMENT } from "./geometry";
import { checkRange, physicalPosition, type VolumeCore } from "./volume-core";

/** Shared zero source for write-zeroes with noHole and partial blocks; never mutated. */
const ZEROES = Buffer.alloc(1 << 20);
/** Data writes up to this size are written synchronously (see pwrite). */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;
/**
 * A synchronous write slower than this means the kernel is throttling dirty
 * pages (its pauses run from about 10 to 200 ms)... Far above a 4 KiB pwrite
 * (a few µs), and above the few ms a busy node may preempt this thread for
 * in the middle of one: those must not count as stalls.
 */
const SYNC_WRITE_STALL_MS = 20;
/** ...and data writes go through the threadpool for this long. */
const SYNC_WRITE_PAUSE_MS = 1000;

/** Requests at least this large are encrypted/decrypted on the crypto worker. */
const OFFLOAD_BYTES = 128 * 1024;

// ---------------------------------------------------------------- read path

/** Reads `version` (the head or a snapshot) at `offset` into `target`, under a shared range lock. */
export async function readVersion(core: VolumeCore, version: Version, offset: number, target: Buffer): Promise<void> {
  core.assertUsable();
  if (version.removed || (version !== core.map.head && version.deleted)) throw new BlockIoError("ESHUTDOWN", "snapshot was deleted");
  checkRange(offset, target.length, version.size);
  if (target.length === 0) return;
  const b0 = Math.floor(offset / BLOCK_SIZE);
  const b1 = Math.ceil((offset + target.length) / BLOCK_SIZE);
  const h = await core.locks.acquire(b0, b1, false);
  try {
    core.assertUsable();
    if (offset % BLOCK_SIZE === 0 && target.length % BLOCK_SIZE === 0) {
      const e0 = Math.floor(b0 / BLOCKS_PER_EXTENT);
      if (e0 === Math.floor((b1 - 1) / BLOCKS_PER_EXTENT)) await readExtentBlocks(core, version, e0, b0 % BLOCKS_PER_EXTENT, b1 - b0, target, 0);
      else await readBlocks(core, version, b0, b1 - b0, target, 0);
    } else {
      const scratch = Buffer.allocUnsafe((b1 - b0) * BLOCK_SIZE);
      await readBlocks(core, version, b0, b1 - b0, scratch, 0);
      const skew = offset - b0 * BLOCK_SIZE;
      scratch.copy(target, 0, skew, skew + target.length);
    }
  } finally {
    core.locks.release(h);
  }
}

/** Byte ranges of `version` that read as stored data (not holes), from metadata alone. */
export function allocatedRangesOf(core: VolumeCore, version: Version, offset: number, length: number): ByteRange[] {
  checkRange(offset, length, version.size);
  const out: ByteRange[] = [];
  if (length === 0) return out;
  const first = Math.floor(offset / BLOCK_SIZE);
  const last = Math.ceil((offset + length) / BLOCK_SIZE);
  let runStart = -1;
  const push = (end: number): void => {
    if (runStart < 0) return;
    const s = Math.max(runStart * BLOCK_SIZE, offset);
    const e = Math.min(end * BLOCK_SIZE, offset + length);
    const prev = out.at(-1);
    if (prev && prev.offset + prev.length === s) prev.length += e - s;
    else out.push({ offset: s, length: e - s });
    runStart = -1;
  };
  // Visit only extents some version in the chain stores: cost follows data, not volume size.
  const firstExtent = Math.floor(first / BLOCKS_PER_EXTENT);
  const lastExtent = Math.floor((last - 1) / BLOCKS_PER_EXTENT);
  let sorted: number[];
  if (lastExtent - firstExtent < 64) {
    sorted = [];
    for (let e = firstExtent; e <= lastExtent; e++) if (core.map.hasExtentFrom(version, e)) sorted.push(e);
  } else {
    const extents = new Set<number>();
    for (let v: Version | null = version; v; v = v.parent) for (const e of v.slots.keys()) extents.add(e);
    sorted = [...extents].filter((e) => e >= firstExtent && e <= lastExtent).sort((a, b) => a - b);
  }
  for (const extent of sorted) {
    const from = Math.max(first, extent * BLOCKS_PER_EXTENT);
    const to = Math.min(last, (extent + 1) * BLOCKS_PER_EXTENT);
    const own = version.slots.get(extent);
    if (own && !own.bad && allSet(own.present, from - extent * BLOCKS_PER_EXTENT, to - extent * BLOCKS_PER_EXTENT)) {
      // Common case: this version stores the whole span itself.
      if (runStart < 0) runStart = from;
      push(to); // adjacent runs are merged by push
      continue;
    }
    for (let b = from; b < to; b++) {
      if (core.map.resolve(version, extent, b - extent * BLOCKS_PER_EXTENT)) {
        if (runStart < 0) runStart = b;
      } else push(b);
    }
    push(to);
  }
  push(last);
  return out;
}

/** Reads whole blocks [firstBlock, firstBlock+count) of `version` into dst at dstOff. Caller holds the range lock. */
async function readBlocks(core: VolumeCore, version: Version, firstBlock: number, count: number, dst: Buffer, dstOff: number): Promise<void> {
  const e0 = Math.floor(firstBlock / BLOCKS_PER_EXTENT);
  const e1 = Math.floor((firstBlock + count - 1) / BLOCKS_PER_EXTENT);
  if (e0 === e1) return readExtentBlocks(core, version, e0, firstBlock % BLOCKS_PER_EXTENT, count, dst, dstOff);
  const jobs: Array<Promise<void>> = [];
  for (let e = e0; e <= e1; e++) {
    const s = Math.max(firstBlock, e * BLOCKS_PER_EXTENT);
    const t = Math.min(firstBlock + count, (e + 1) * BLOCKS_PER_EXTENT);
    jobs.push(readExtentBlocks(core, version, e, s - e * BLOCKS_PER_EXTENT, t - s, dst, dstOff + (s - firstBlock) * BLOCK_SIZE));
  }
  await Promise.all(jobs);
}

async function readExtentBlocks(core: VolumeCore, version: Version, extent: number, fb: number, count: number, dst: Buffer, dstOff: number): Promise<void> {
  const own = version.slots.get(extent);
  if (own && !own.bad && allSet(own.present, fb, fb + count)) return preadVerify(core, own, fb, count, dst, dstOff);
  const end = fb + count;
  const jobs: Array<Promise<void>> = [];
  for (let b = fb; b < end; ) {
    const src = core.map.resolve(version, extent, b);
    let r = b + 1;
    while (r < end && core.map.resolve(version, extent, r) === src) r++;
    const at = dstOff + (b - fb) * BLOCK_SIZE;
    if (src === null) dst.fill(0, at, at + (r - b) * BLOCK_SIZE);
    else jobs.push(preadVerify(core, src, b, r - b, dst, at));
    b = r;
  }
  if (jobs.length === 1) return jobs[0];
  if (jobs.length > 0) await Promise.all(jobs);
}

/** Reads stored blocks of a slot, verifies each CRC, decrypts. A mismatch is EIO, never data. */
async function preadVerify(core: VolumeCore, slot: Slot, fb: number, count: number, dst: Buffer, dstOff: number): Promise<void> {
  if (slot.bad) {
    core.checksumErrors++;
    throw new BlockIoError("EIO", `extent ${slot.extent} lost its checksums`);
  }
  const fh = core.segments[Math.floor(slot.id / SLOTS_PER_SEGMENT)] ?? (await core.segment(slot.id));
  const len = count * BLOCK_SIZE;
  let bytesRead: number;
  try {
    ({ bytesRead } = await fh.read(dst, dstOff, len, physicalPosition(slot.id, fb)));
  } catch (err) {
    throw core.ioError(err);
  }
  if (bytesRead < len) dst.fill(0, dstOff + bytesRead, dstOff + len);
  const crcs = slot.crc;
  for (let i = 0; i < count; i++) {
    const at = dstOff + i * BLOCK_SIZE;
    if (crc32(dst.subarray(at, at + BLOCK_SIZE)) !== crcs[fb + i]) {
      core.checksumErrors++;
      const block = slot.extent * BLOCKS_PER_EXTENT + fb + i;
      throw new BlockIoError("EIO", `checksum mismatch at byte offset ${block * BLOCK_SIZE}`);
    }
  }
  if (core.cipher) {
    const first = slot.extent * BLOCKS_PER_EXTENT + fb;
    if (core.cryptoWorker && len >= OFFLOAD_BYTES) {
      try {
        await core.cryptoWorker.decryptInPlace(dst, dstOff, len, first);
      } catch (err) {
        throw core.ioError(err);
      }
    } else core.cipher.decryptInPlace(dst, dstOff, count, first);
  }
}

// ---------------------------------------------------------------- write path

/**
 * Writes `data` at `offset` into the head; the caller (Volume.write) holds the
 * block range exclusively. `crc`: the CRC-32 of `data`, if the caller has it
 * (see BlockDevice.write).
 */
export async function writeLocked(core: VolumeCore, offset: number, data: Buffer, crc?: number): Promise<void> {
  const e0 = Math.floor(offset / EXTENT_SIZE);
  const e1 = Math.floor((offset + data.length - 1) / EXTENT_SIZE);
  if (e0 === e1) {
    const slot = headSlot(core, e0);
    slot.users++;
    try {
      if (slot.hotWait !== null || !slot.hot) await makeHot(core, slot);
      await writeChunk(core, slot, offset, data, crc);
    } finally {
      slot.users--;
    }
    return;
  }
  // Reserve every extent the request needs before any data moves.
  let missing = 0;
  for (let e = e0; e <= e1; e++) if (!core.map.head.slots.has(e)) missing++;
  if (missing > 0) core.accountant.reserveExtents(missing);
  const slots: Slot[] = [];
  for (let e = e0; e <= e1; e++) {
    const slot = core.map.head.slots.get(e) ?? allocSlot(core, core.map.head, e);
    slot.users++;
    slots.push(slot);
  }
  try {
    await Promise.all(slots.map((s) => (s.hotWait !== null || !s.hot ? makeHot(core, s) : Promise.resolve())));
    await Promise.all(
      slots.map((slot) => {
        const start = Math.max(offset, slot.extent * EXTENT_SIZE);
        const end = Math.min(offset + data.length, (slot.extent + 1) * EXTENT_SIZE);
        return writeChunk(core, slot, start, data.subarray(start - offset, end - offset));
      }),
    );
  } finally {
    for (const s of slots) s.users--;
  }
}

/** The head's slot for `extent`, allocating (and reserving) one if needed. */
function headSlot(core: VolumeCore, extent: number): Slot {
  const existing = core.map.head.slots.get(extent);
  if (existing) return existing;
  core.accountant.reserveExtents(1);
  return allocSlot(core, core.map.head, extent);
}

async function writeChunk(core: VolumeCore, slot: Slot, offset: number, data: Buffer, crc?: number): Promise<void> {
  const inExt = offset - slot.extent * EXTENT_SIZE;
  const end = inExt + data.length;
  const fb = inExt >>> BLOCK_SHIFT;
  const lb = (end + BLOCK_SIZE - 1) >>> BLOCK_SHIFT;
  const headPad = inExt & (BLOCK_SIZE - 1);
  const tailPad = end & (BLOCK_SIZE - 1);
  let plain = data;
  if (headPad !== 0 || tailPad !== 0) {
    // Read-modify-write of partial blocks; the caller holds the block range exclusively.
    plain = Buffer.allocUnsafe((lb - fb) * BLOCK_SIZE);
    if (headPad !== 0) await readBlocks(core, core.map.head, slot.extent * BLOCKS_PER_EXTENT + fb, 1, plain, 0);
    if (tailPad !== 0 && (lb - 1 !== fb || headPad === 0)) {
      await readBlocks(core, core.map.head, slot.extent * BLOCKS_PER_EXTENT + lb - 1, 1, plain, (lb - 1 - fb) * BLOCK_SIZE);
    }
    data.copy(plain, headPad);
  }
  const fh = core.segments[Math.floor(slot.id / SLOTS_PER_SEGMENT)] ?? (await core.segment(slot.id));
  const pos = physicalPosition(slot.id, fb);
  const crcs = slot.crc;
  try {
    if (core.cipher) {
      const lease = core.cryptoWorker && plain.length >= OFFLOAD_BYTES ? await core.cryptoWorker.encrypt(plain, slot.extent * BLOCKS_PER_EXTENT + fb) : null;
      const sealed = lease ? lease.data : core.scratch.take(plain.length);
      try {
        if (!lease) core.cipher.encryptInto(plain, sealed, slot.extent * BLOCKS_PER_EXTENT + fb);
        const bytesWritten = await pwrite(core, fh, sealed, plain.length, pos);
        if (bytesWritten !== plain.length) throw new BlockIoError("EIO", "short write");
        for (let i = 0, b = fb; b < lb; i += BLOCK_SIZE, b++) crcs[b] = crc32(sealed.subarray(i, i + BLOCK_SIZE));
      } finally {
        if (lease) lease.release();
        else core.scratch.give(sealed);
      }
    } else {
      const bytesWritten = await pwrite(core, fh, plain, plain.length, pos);
      if (bytesWritten !== plain.length) throw new BlockIoError("EIO", "short write");
      // One whole block, stored as given: its CRC is the block checksum (computed once, by the replication target).
      if (crc !== undefined && plain === data && plain.length === BLOCK_SIZE) crcs[fb] = crc >>> 0;
      else for (let i = 0, b = fb; b < lb; i += BLOCK_SIZE, b++) crcs[b] = crc32(plain.subarray(i, i + BLOCK_SIZE));
    }
  } catch (err) {
    throw core.ioError(err);
  }
  setBits(slot.present, fb, lb);
  clearBits(slot.zero, fb, lb);
  core.touch(slot);
}

/**
 * Writes `length` bytes of `buf` at `pos` into the page cache. Small writes
 * use a synchronous pwrite on this thread: a buffered 4 KiB pwrite costs
 * about 3–5 µs of CPU, while handing it to the libuv threadpool costs
 * 12–17 µs (measured on 2 vCPU at QD32) plus two thread wake-ups in the
 * request's path (on a busy node the threadpool hand-off was the largest
 * cost of a replica's writes and the second largest of the target's, after
 * TLS). Durability is unchanged: data is only durable after flush's
 * fdatasync either way. A synchronous write can still stall when the kernel
 * throttles dirty pages; one that does sends writes back to the threadpool
 * for a while, so the event loop keeps serving other requests meanwhile.
 */
async function pwrite(core: VolumeCore, fh: FileHandle, buf: Buffer, length: number, pos: number): Promise<number> {
  if (length <= SYNC_WRITE_MAX_BYTES && performance.now() >= core.syncWritesPausedUntil) {
    // A closed handle reports fd -1; checking it in the same turn as the write rules out a reused fd.
    const fd = fh.fd;
    if (fd < 0) throw new BlockIoError("ESHUTDOWN", `volume ${core.name} is closed`);
    const t0 = performance.now();
    const n = writeSync(fd, buf, 0, length, pos);
    const t1 = performance.now();
    if (t1 - t0 > SYNC_WRITE_STALL_MS) core.syncWritesPausedUntil = t1 + SYNC_WRITE_PAUSE_MS;
    return n;
  }
  return (await fh.write(buf, 0, length, pos)).bytesWritten;
}

/** TRIM and WRITE_ZEROES: partial blocks are written as zeros, whole blocks discarded (or written, with noHole). */
export async function zeroRange(core: VolumeCore, offset: number, length: number, noHole: boolean, fua: boolean): Promise<void> {
  core.assertUsable();
  checkRange(offset, length, core.map.head.size);
  if (length > 0) {
    const end = offset + length;
    const h = await core.locks.acquire(Math.floor(offset / BLOCK_SIZE), Math.ceil(end / BLOCK_SIZE), true);
    try {
      core.assertUsable();
      const wb0 = Math.ceil(offset / BLOCK_SIZE);
      const wb1 = Math.floor(end / BLOCK_SIZE);
      if (wb0 >= wb1) {
        await writeLocked(core, offset, ZEROES.subarray(0, length));
      } else {
        if (offset < wb0 * BLOCK_SIZE) await writeLocked(core, offset, ZEROES.subarray(0, wb0 * BLOCK_SIZE - offset));
        if (end > wb1 * BLOCK_SIZE) await writeLocked(core, wb1 * BLOCK_SIZE, ZEROES.subarray(0, end - wb1 * BLOCK_SIZE));
        if (noHole) {
          for (let at = wb0 * BLOCK_SIZE; at < wb1 * BLOCK_SIZE; at += ZEROES.length) {
            await writeLocked(core, at, ZEROES.subarray(0, Math.min(ZEROES.length, wb1 * BLOCK_SIZE - at)));
          }
        } else {
          discardBlocks(core, wb0, wb1);
        }
      }
    } finally {
      core.locks.release(h);
    }
  }
  if (fua) await requestFlush(core);
}

/**
 * Metadata-only discard of whole blocks. Without older snapshots beneath,
 * blocks simply stop being present (and a slot left empty is freed); with
 * snapshots beneath, the blocks are marked zero so reads don't fall through.
 */
function discardBlocks(core: VolumeCore, b0: number, b1: number): void {
  const head = core.map.head;
  const e0 = Math.floor(b0 / BLOCKS_PER_EXTENT);
  const e1 = Math.floor((b1 - 1) / BLOCKS_PER_EXTENT);
  let missing = 0;
  for (let e = e0; e <= e1; e++) if (!head.slots.has(e) && core.map.hasExtentFrom(head.parent, e)) missing++;
  if (missing > 0) core.accountant.reserveExtents(missing);
  for (let e = e0; e <= e1; e++) {
    const fb = Math.max(b0, e * BLOCKS_PER_EXTENT) - e * BLOCKS_PER_EXTENT;
    const lb = Math.min(b1, (e + 1) * BLOCKS_PER_EXTENT) - e * BLOCKS_PER_EXTENT;
    const below = core.map.hasExtentFrom(head.parent, e);
    let slot = head.slots.get(e);
    if (!below) {
      if (!slot) continue;
      clearBits(slot.present, fb, lb);
      clearBits(slot.zero, fb, lb);
      if (slot.users === 0 && isEmpty(slot.present)) {
        freeSlot(core, slot);
        continue;
      }
    } else {
      slot ??= allocSlot(core, head, e);
      clearBits(slot.present, fb, lb);
      setBits(slot.zero, fb, lb);
    }
    slot.dirtyEpoch = core.epoch;
    core.dirtyMeta.add(slot);
  }
}
