/**
 * A pool volume's public face: create, open, inspect and close, the
 * BlockDevice methods and the control path (grow, snapshots, diff).
 *
 * The work behind it lives in modules over one private VolumeCore (see
 * volume-core.ts and the README's "Source files"), so that the read/write
 * paths, the durability pipeline, recovery, snapshot merges and the scrub
 * source can each be read on their own.
 */
import { randomUUID } from "node:crypto";
import { writeSync } from "node:fs";
import { mkdir, rm, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { OBJECT_NAME_RULE, isValidReplicaId, isValidSnapshotName, isValidVolumeName } from "@stowage/vocabulary";
import { BlockIoError, type BlockDevice } from "../block-device";
import { dataKeyCheck, generateDataKey } from "../crypto/xts";
import { diffVersions, type ByteRange } from "../snapshot/diff";
import { SnapshotDevice } from "../snapshot/snapshot-device";
import { allSet, clearBits, isEmpty, setBits } from "../util/bitmap";
import { EngineError, errnoCode } from "../util/errors";
import type { RangeLock } from "../util/range-lock";
import { writeCheckpoint } from "./checkpoint";
import { allocSlot, checkpoint, flushNow, freeSlot, makeHot, requestFlush, retireHot } from "./durability";
import { ExtentMap, type Slot, type Version } from "./extent-map";
import { BLOCK_SHIFT, BLOCK_SIZE, BLOCKS_PER_EXTENT, EXTENT_SIZE, MAX_VOLUME_SIZE, SLOTS_PER_SEGMENT } from "./geometry";
import { readSuperblock, writeSuperblock, type Superblock } from "./superblock";
import { WalLog } from "./wal";
import { checkRange, physicalPosition, type VolumeCore, type VolumeOpenOptions } from "./volume-core";
import { loadMap, openCore, type RecoveryReport } from "./recovery";
import { scrubSource, type ScrubSource } from "./scrub-source";
import { collectGarbage } from "./snapshot-merge";

export { unlimitedCapacity, type CapacityAccountant, type VolumeOpenOptions } from "./volume-core";
export type { RecoveryReport } from "./recovery";
export type { ScrubSource } from "./scrub-source";

export interface VolumeCreateOptions extends VolumeOpenOptions {
  name: string;
  size: number;
  /** Encrypt at rest with a fresh data key wrapped by `kms`. */
  encrypted?: boolean;
  uuid?: string;
}

export interface SnapshotInfo {
  name: string;
  id: number;
  size: number;
  createdAt: Date;
  /** Bytes of extents stored for this snapshot alone (what deleting it may free). */
  ownedBytes: number;
}

export interface VolumeStats {
  name: string;
  uuid: string;
  size: number;
  encrypted: boolean;
  /** Bytes of extents allocated by the head and all snapshots. */
  allocatedBytes: number;
  /** Bytes of extents the head itself allocated (written since the newest snapshot, or ever without one). */
  headAllocatedBytes: number;
  snapshots: number;
  hotExtents: number;
  checksumErrors: number;
  /** Blocks copied by snapshot merges since open (merges prefer the smaller side). */
  mergeCopiedBlocks: number;
}

export interface VolumeSummary {
  uuid: string;
  name: string;
  size: number;
  encrypted: boolean;
  allocatedExtents: number;
}

const MAX_SNAPSHOTS = 256;

export class Volume implements BlockDevice {
  readonly blockSize = BLOCK_SIZE;
  readonly readOnly = false;

  private constructor(private readonly core: VolumeCore) {}

  // ---------------------------------------------------------------- lifecycle

  /** Creates the volume directory (which must not exist) and opens the volume. */
  static async create(dir: string, opts: VolumeCreateOptions): Promise<Volume> {
    validateName(opts.name, "volume");
    validateSize(opts.size);
    if (opts.encrypted && !opts.kms) throw new EngineError("INVALID", "an encrypted volume needs a KMS provider");
    const uuid = opts.uuid ?? randomUUID();
    let encryption: Superblock["encryption"];
    if (opts.encrypted && opts.kms) {
      const dek = generateDataKey();
      const wrappedKey = await opts.kms.wrapKey(dek, { volumeId: uuid });
      encryption = { wrappedKey: { ...wrappedKey }, keyCheck: dataKeyCheck(dek) };
      dek.fill(0);
    }
    try {
      await mkdir(dir, { recursive: false, mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) === "EEXIST") throw new EngineError("EXISTS", `volume directory ${dir} already exists`);
      throw err;
    }
    try {
      const sb: Superblock = {
        formatVersion: 1,
        uuid,
        name: opts.name,
        createdAt: new Date().toISOString(),
        blockSize: BLOCK_SIZE,
        extentSize: EXTENT_SIZE,
        checksum: "crc32",
        cipher: encryption ? "aes-256-xts-plain64" : "none",
        size: opts.size,
        ...(encryption ? { encryption } : {}),
      };
      await writeCheckpoint(dir, ExtentMap.empty(opts.size).toCheckpoint(0));
      await WalLog.create(dir, 0);
      // The superblock goes last: a directory without one is an aborted create.
      await writeSuperblock(dir, sb);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return Volume.open(dir, opts);
  }

  /** Reads metadata only (no keys, no data): used by pools for capacity accounting. */
  static async inspect(dir: string): Promise<VolumeSummary> {
    const sb = await readSuperblock(dir);
    const map = await loadMap(dir, sb);
    await map.wal.close();
    return { uuid: sb.uuid, name: sb.name, size: map.map.head.size, encrypted: sb.cipher !== "none", allocatedExtents: map.map.slots.size };
  }

  /** Opens the volume, recovering from an unclean shutdown first (see recovery.ts). */
  static async open(dir: string, opts: VolumeOpenOptions = {}): Promise<Volume> {
    return new Volume(await openCore(dir, opts));
  }

  get dir(): string {
    return this.core.dir;
  }

  get locks(): RangeLock {
    return this.core.locks;
  }

  /** What opening this volume found and repaired. */
  get recovery(): RecoveryReport {
    return this.core.recovery;
  }

  get name(): string {
    return this.core.sb.name;
  }

  get uuid(): string {
    return this.core.sb.uuid;
  }

  get size(): number {
    return this.core.map.head.size;
  }

  get encrypted(): boolean {
    return this.core.cipher !== null;
  }

  get isOpen(): boolean {
    return this.core.state === "open";
  }

  /** Number of allocated slots across head and snapshots. */
  get allocatedExtents(): number {
    return this.core.map.slots.size;
  }

  stats(): VolumeStats {
    const { map } = this.core;
    return {
      name: this.name,
      uuid: this.uuid,
      size: this.size,
      encrypted: this.encrypted,
      allocatedBytes: map.slots.size * EXTENT_SIZE,
      headAllocatedBytes: map.head.slots.size * EXTENT_SIZE,
      snapshots: map.snapshots().length,
      hotExtents: map.hot.size,
      checksumErrors: this.core.checksumErrors,
      mergeCopiedBlocks: this.core.mergeCopiedBlocks,
    };
  }

  /**
   * Drains in-flight I/O, flushes, retires the activity log and writes a
   * checkpoint, so the next open has nothing to recover.
   */
  async close(): Promise<void> {
    const core = this.core;
    if (core.state === "closed" || core.state === "closing") return;
    const wasFailed = core.state === "failed";
    core.state = "closing";
    // Let a running merge finish first: it takes extent locks we'd otherwise block.
    await core.gcChain.catch(() => undefined);
    const all = await core.locks.acquire(0, Infinity, true);
    try {
      if (!wasFailed) {
        await flushNow(core);
        retireHot(core, true);
        await checkpoint(core);
      }
    } finally {
      core.locks.release(all);
      await core.closeFiles();
      core.state = "closed";
    }
  }

  // ---------------------------------------------------------------- block device (volume-io.ts)

  async read(offset: number, target: Buffer): Promise<void> {
    return readVersion(this.core, this.core.map.head, offset, target);
  }

  /** Callers must not modify `data` until the returned promise settles. */
  write(offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void> {
    return writeRequest(this.core, offset, data, opts);
  }

  flush(): Promise<void> {
    return requestFlush(this.core);
  }

  async trim(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    return zeroRange(this.core, offset, length, false, opts?.fua === true);
  }

  async writeZeroes(offset: number, length: number, opts?: { fua?: boolean; noHole?: boolean }): Promise<void> {
    return zeroRange(this.core, offset, length, opts?.noHole === true, opts?.fua === true);
  }

  async allocatedRanges(offset: number, length: number): Promise<ByteRange[]> {
    this.core.assertUsable();
    return allocatedRangesOf(this.core, this.core.map.head, offset, length);
  }

  // ---------------------------------------------------------------- control path

  async grow(newSize: number): Promise<void> {
    const core = this.core;
    core.assertUsable();
    validateSize(newSize);
    if (newSize < this.size) throw new EngineError("INVALID", "volumes can only grow");
    if (newSize === this.size) return;
    core.accountant.resizeVolume?.(this.size, newSize);
    core.logApply({ type: "resize", size: newSize });
    await core.wal.sync();
  }

  listSnapshots(): SnapshotInfo[] {
    return this.core.map.snapshots().map((v) => ({
      name: v.name ?? "",
      id: v.id,
      size: v.size,
      createdAt: new Date(v.createdAt),
      ownedBytes: v.slots.size * EXTENT_SIZE,
    }));
  }

  /**
   * Crash-consistent snapshot: pauses I/O, flushes (so the snapshot's content
   * survives a crash exactly), then freezes the head by a metadata record.
   * No data is copied.
   */
  async createSnapshot(name: string): Promise<SnapshotInfo> {
    const core = this.core;
    core.assertUsable();
    validateName(name, "snapshot");
    if (core.map.findSnapshot(name)) throw new EngineError("EXISTS", `snapshot ${name} already exists`);
    if (core.map.versions.size >= MAX_SNAPSHOTS) throw new EngineError("INVALID", `a volume keeps at most ${MAX_SNAPSHOTS - 1} snapshots`);
    const all = await core.locks.acquire(0, Infinity, true);
    try {
      core.assertUsable();
      if (core.map.findSnapshot(name)) throw new EngineError("EXISTS", `snapshot ${name} already exists`);
      await flushNow(core);
      const frozen = core.map.head;
      core.logApply({ type: "snapshot", frozen: frozen.id, newHead: core.map.nextVersionId, size: frozen.size, createdAt: Date.now(), name });
      await core.wal.sync();
      return { name, id: frozen.id, size: frozen.size, createdAt: new Date(frozen.createdAt), ownedBytes: frozen.slots.size * EXTENT_SIZE };
    } finally {
      core.locks.release(all);
    }
  }

  /** Hides the snapshot at once; its extents are merged into its child (or freed) before this resolves. */
  async deleteSnapshot(name: string): Promise<void> {
    const core = this.core;
    core.assertUsable();
    const v = this.requireSnapshot(name);
    core.logApply({ type: "delete-version", version: v.id });
    await core.wal.sync();
    await collectGarbage(core);
  }

  /** The head becomes the snapshot's content; the discarded head's extents are freed. Other snapshots stay. */
  async revertToSnapshot(name: string): Promise<void> {
    const core = this.core;
    core.assertUsable();
    const all = await core.locks.acquire(0, Infinity, true);
    try {
      core.assertUsable();
      const target = this.requireSnapshot(name);
      await flushNow(core);
      core.logApply({ type: "revert", target: target.id, newHead: core.map.nextVersionId });
      await core.wal.sync();
    } finally {
      core.locks.release(all);
    }
    await collectGarbage(core);
  }

  /** A read-only block device over a snapshot. */
  openSnapshot(name: string): BlockDevice {
    this.core.assertUsable();
    return new SnapshotDevice(this, this.requireSnapshot(name));
  }

  /**
   * Changed block ranges between two points, from metadata alone: `from`
   * null means "from an empty volume" (every allocated range), `to` null means
   * the live head. Exact at 4 KiB granularity: a block is reported iff it was
   * written, trimmed or zeroed on either side since the common ancestor.
   */
  diff(from: string | null, to: string | null): ByteRange[] {
    this.core.assertUsable();
    const a = from === null ? null : this.requireSnapshot(from);
    const b = to === null ? this.core.map.head : this.requireSnapshot(to);
    return diffVersions(this.core.map, a, b);
  }

  /** Merges deleted snapshots into their child (see snapshot-merge.ts). */
  collectGarbage(): Promise<void> {
    return collectGarbage(this.core);
  }

  // ---------------------------------------------------------------- internals shared with snapshot views and scrub

  /** @internal */
  readVersion(version: Version, offset: number, target: Buffer): Promise<void> {
    return readVersion(this.core, version, offset, target);
  }

  /** @internal */
  allocatedRangesOf(version: Version, offset: number, length: number): ByteRange[] {
    return allocatedRangesOf(this.core, version, offset, length);
  }

  /** @internal Used by scrub(); walks head and snapshot slots. */
  scrubSource(): ScrubSource {
    return scrubSource(this.core);
  }

  private requireSnapshot(name: string): Version {
    const v = this.core.map.findSnapshot(name);
    if (!v) throw new EngineError("NOT_FOUND", `snapshot ${name} not found on volume ${this.name}`);
    return v;
  }
}

export function validateName(name: string, what: string): void {
  // A pool device is a volume or, in a cluster, a replica named by its id: `<volume>-<8 hex>`.
  if (!(what === "snapshot" ? isValidSnapshotName(name) : isValidVolumeName(name) || isValidReplicaId(name))) throw new EngineError("INVALID", `${what} name "${name}" is not valid: use ${OBJECT_NAME_RULE}`);
}

function validateSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size % BLOCK_SIZE !== 0 || size > MAX_VOLUME_SIZE) {
    throw new EngineError("INVALID", `volume size must be a positive multiple of ${BLOCK_SIZE} up to ${MAX_VOLUME_SIZE}`);
  }
}

// ==== SECTION io

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

/** A WRITE request: exclusive range lock, data into the head's slots, then a flush if FUA. */
export async function writeRequest(core: VolumeCore, offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void> {
  core.assertUsable();
  checkRange(offset, data.length, core.map.head.size);
  if (data.length > 0) {
    const h = await core.locks.acquire(Math.floor(offset / BLOCK_SIZE), Math.ceil((offset + data.length) / BLOCK_SIZE), true);
    try {
      core.assertUsable();
      await writeLocked(core, offset, data, opts?.crc);
    } finally {
      core.locks.release(h);
    }
  }
  if (opts?.fua) await requestFlush(core);
}

/** `crc`: the CRC-32 of `data`, if the caller has it (see BlockDevice.write). */
async function writeLocked(core: VolumeCore, offset: number, data: Buffer, crc?: number): Promise<void> {
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
