import { randomUUID } from "node:crypto";
import { constants as fsc, writeSync } from "node:fs";
import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import { BlockIoError, type BlockDevice } from "../block-device";
import { XtsCipher, dataKeyCheck, generateDataKey, verifyDataKeyCheck } from "../crypto/xts";
import { XtsWorker } from "../crypto/xts-worker";
import { KmsError, type KmsProvider } from "../kms/provider";
import { diffVersions, type ByteRange } from "../snapshot/diff";
import { SnapshotDevice } from "../snapshot/snapshot-device";
import { allSet, anySet, clearBits, countBits, isEmpty, setBits, testBit } from "../util/bitmap";
import { EngineError, errnoCode } from "../util/errors";
import { RangeLock } from "../util/range-lock";
import { readCheckpoint, writeCheckpoint } from "./checkpoint";
import { ExtentMap, type Slot, type Version } from "./extent-map";
import {
  BLOCK_SHIFT,
  BLOCK_SIZE,
  BLOCKS_PER_EXTENT,
  EXTENT_SIZE,
  MAX_VOLUME_SIZE,
  SLOTS_PER_SEGMENT,
} from "./geometry";
import { META_FILE, META_PAGE_BYTES, META_SLOT_BYTES, decodeMetaPage, encodeMetaPage, metaPagePosition } from "./slot-meta";
import { readSuperblock, writeSuperblock, type Superblock } from "./superblock";
import { WalLog, type WalRecord } from "./wal";

/**
 * Capacity hooks a pool gives its volumes. Reservation is synchronous so a
 * write can reserve every extent it needs before touching any data: ENOSPC is
 * all-or-nothing for a request and never leaves a half-written volume.
 */
export interface CapacityAccountant {
  /** Throws BlockIoError("ENOSPC") when the extents can't be had. */
  reserveExtents(count: number): void;
  releaseExtents(count: number): void;
  /** Throws EngineError("OVERCOMMIT") when a grow would exceed the pool's over-commit limit. */
  resizeVolume?(fromBytes: number, toBytes: number): void;
  /** Disk errors from the data path, for pool health. */
  reportIoError?(err: unknown): void;
}

export const unlimitedCapacity: CapacityAccountant = {
  reserveExtents: () => undefined,
  releaseExtents: () => undefined,
};

export interface VolumeOpenOptions {
  /** Required for encrypted volumes: unwraps the data key. */
  kms?: KmsProvider;
  accountant?: CapacityAccountant;
  /**
   * Activity-log size in extents: how many 4 MiB extents may be hot (written
   * without a durable checksum page) at once. Larger = fewer synchronous log
   * writes on scattered writes; smaller = less to re-verify after a crash.
   */
  activityLogExtents?: number;
  /** Rewrite the checkpoint once the WAL grows beyond this many bytes. */
  checkpointBytes?: number;
}

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

export interface RecoveryReport {
  /** The volume was not closed cleanly (hot extents were re-verified). */
  unclean: boolean;
  rehashedExtents: number;
  /** Blocks whose checksum was rewritten from on-disk data (unflushed writes). */
  rehashedBlocks: number;
  /** Torn bytes discarded from the end of the metadata log. */
  walBytesDiscarded: number;
  /** Extents whose checksum page was unreadable while cold; they read as EIO. */
  lostExtents: number;
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

/** Internal view for the scrubber: slots to walk, and verification under the right lock. */
export interface ScrubSource {
  readonly name: string;
  listSlots(): Array<{ slot: number; extent: number; version: number; snapshot: string | null; hidden: boolean }>;
  /** Returns the bad block indexes (0..1023) within the slot, or null when the slot is gone. */
  verifySlot(slot: number, scratch: Buffer): Promise<number[] | null>;
}

const DEFAULT_AL_EXTENTS = 1024;
const DEFAULT_CHECKPOINT_BYTES = 1 << 20;
/** Shared zero source for write-zeroes with noHole and partial blocks; never mutated. */
const ZEROES = Buffer.alloc(1 << 20);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_SNAPSHOTS = 256;
/** Data writes up to this size are written synchronously (see Volume.pwrite). */
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

type LifeState = "open" | "closing" | "closed" | "failed";

export class Volume implements BlockDevice {
  readonly blockSize = BLOCK_SIZE;
  readonly readOnly = false;
  readonly locks = new RangeLock();
  private readonly scratch = new ScratchPool();
  /** See {@link pwrite}: until then, data writes go through the threadpool. */
  private syncWritesPausedUntil = 0;

  private state: LifeState = "open";
  private readonly segments: Array<FileHandle | undefined> = [];
  private readonly segmentOpens = new Map<number, Promise<FileHandle>>();
  private readonly dirtySegments = new Set<number>();
  private readonly dirtyMeta = new Set<Slot>();
  private pendingFree: Array<{ id: number; seq: number }> = [];
  /** Flush epoch: changes made now are tagged with it; see Slot.dirtyEpoch. */
  private epoch = 1;
  private durableEpoch = 0;
  private flushRunning: Promise<void> | null = null;
  private flushQueued: Promise<void> | null = null;
  private gcChain: Promise<void> = Promise.resolve();
  private checksumErrors = 0;
  private mergeCopiedBlocks = 0;
  private readonly alExtents: number;
  private readonly checkpointBytes: number;
  recovery: RecoveryReport = { unclean: false, rehashedExtents: 0, rehashedBlocks: 0, walBytesDiscarded: 0, lostExtents: 0 };

  private constructor(
    readonly dir: string,
    private readonly sb: Superblock,
    private readonly map: ExtentMap,
    private readonly wal: WalLog,
    private readonly metaFh: FileHandle,
    private readonly cipher: XtsCipher | null,
    private readonly cryptoWorker: XtsWorker | null,
    private readonly accountant: CapacityAccountant,
    opts: VolumeOpenOptions,
  ) {
    this.alExtents = Math.max(8, opts.activityLogExtents ?? DEFAULT_AL_EXTENTS);
    this.checkpointBytes = opts.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
  }

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

  static async open(dir: string, opts: VolumeOpenOptions = {}): Promise<Volume> {
    const sb = await readSuperblock(dir);
    let cipher: XtsCipher | null = null;
    let worker: XtsWorker | null = null;
    if (sb.encryption) {
      if (!opts.kms) throw new EngineError("KEY", `volume ${sb.name} is encrypted; a KMS provider is required to open it`);
      const dek = await opts.kms.unwrapKey(sb.encryption.wrappedKey, { volumeId: sb.uuid });
      if (dek.length !== 64 || !verifyDataKeyCheck(dek, sb.encryption.keyCheck)) {
        throw new KmsError("WRONG_KEY", `the key provider returned a data key that does not match volume ${sb.name}`);
      }
      cipher = new XtsCipher(dek);
      worker = new XtsWorker(dek);
      dek.fill(0);
    }
    let loaded: Awaited<ReturnType<typeof loadMap>>;
    let metaFh: FileHandle;
    try {
      loaded = await loadMap(dir, sb);
    } catch (err) {
      worker?.close();
      throw err;
    }
    const { map, wal, discarded } = loaded;
    try {
      metaFh = await open(path.join(dir, META_FILE), fsc.O_RDWR | fsc.O_CREAT, 0o600);
    } catch (err) {
      worker?.close();
      await wal.close();
      throw err;
    }
    const vol = new Volume(dir, sb, map, wal, metaFh, cipher, worker, opts.accountant ?? unlimitedCapacity, opts);
    vol.recovery.walBytesDiscarded = discarded;
    try {
      await vol.loadSlotPages();
      await vol.recover();
      if (map.versions.size > 1) await vol.collectGarbage();
    } catch (err) {
      await vol.closeFiles();
      throw err;
    }
    return vol;
  }

  get name(): string {
    return this.sb.name;
  }

  get uuid(): string {
    return this.sb.uuid;
  }

  get size(): number {
    return this.map.head.size;
  }

  get encrypted(): boolean {
    return this.cipher !== null;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Number of allocated slots across head and snapshots. */
  get allocatedExtents(): number {
    return this.map.slots.size;
  }

  stats(): VolumeStats {
    return {
      name: this.name,
      uuid: this.uuid,
      size: this.size,
      encrypted: this.encrypted,
      allocatedBytes: this.map.slots.size * EXTENT_SIZE,
      headAllocatedBytes: this.map.head.slots.size * EXTENT_SIZE,
      snapshots: this.map.snapshots().length,
      hotExtents: this.map.hot.size,
      checksumErrors: this.checksumErrors,
      mergeCopiedBlocks: this.mergeCopiedBlocks,
    };
  }

  /**
   * Drains in-flight I/O, flushes, retires the activity log and writes a
   * checkpoint, so the next open has nothing to recover.
   */
  async close(): Promise<void> {
    if (this.state === "closed" || this.state === "closing") return;
    const wasFailed = this.state === "failed";
    this.state = "closing";
    // Let a running merge finish first: it takes extent locks we'd otherwise block.
    await this.gcChain.catch(() => undefined);
    const all = await this.locks.acquire(0, Infinity, true);
    try {
      if (!wasFailed) {
        await this.flushNow();
        this.retireHot(true);
        await this.checkpoint();
      }
    } finally {
      this.locks.release(all);
      await this.closeFiles();
      this.state = "closed";
    }
  }

  private async closeFiles(): Promise<void> {
    for (const p of this.segmentOpens.values()) await p.then((fh) => fh.close()).catch(() => undefined);
    this.segmentOpens.clear();
    this.segments.length = 0;
    await this.metaFh.close().catch(() => undefined);
    await this.wal.close().catch(() => undefined);
    this.cryptoWorker?.close();
  }

  // ---------------------------------------------------------------- block device

  async read(offset: number, target: Buffer): Promise<void> {
    return this.readVersion(this.map.head, offset, target);
  }

  /** Callers must not modify `data` until the returned promise settles. */
  async write(offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void> {
    this.assertUsable();
    this.checkRange(offset, data.length, this.size);
    if (data.length > 0) {
      const h = await this.locks.acquire(Math.floor(offset / BLOCK_SIZE), Math.ceil((offset + data.length) / BLOCK_SIZE), true);
      try {
        this.assertUsable();
        await this.writeLocked(offset, data, opts?.crc);
      } finally {
        this.locks.release(h);
      }
    }
    if (opts?.fua) await this.flush();
  }

  async flush(): Promise<void> {
    this.assertUsable();
    return this.flushNow();
  }

  async trim(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    return this.zeroRange(offset, length, false, opts?.fua === true);
  }

  async writeZeroes(offset: number, length: number, opts?: { fua?: boolean; noHole?: boolean }): Promise<void> {
    return this.zeroRange(offset, length, opts?.noHole === true, opts?.fua === true);
  }

  async allocatedRanges(offset: number, length: number): Promise<ByteRange[]> {
    this.assertUsable();
    return this.allocatedRangesOf(this.map.head, offset, length);
  }

  // ---------------------------------------------------------------- control path

  async grow(newSize: number): Promise<void> {
    this.assertUsable();
    validateSize(newSize);
    if (newSize < this.size) throw new EngineError("INVALID", "volumes can only grow");
    if (newSize === this.size) return;
    this.accountant.resizeVolume?.(this.size, newSize);
    this.logApply({ type: "resize", size: newSize });
    await this.wal.sync();
  }

  listSnapshots(): SnapshotInfo[] {
    return this.map.snapshots().map((v) => ({
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
    this.assertUsable();
    validateName(name, "snapshot");
    if (this.map.findSnapshot(name)) throw new EngineError("EXISTS", `snapshot ${name} already exists`);
    if (this.map.versions.size >= MAX_SNAPSHOTS) throw new EngineError("INVALID", `a volume keeps at most ${MAX_SNAPSHOTS - 1} snapshots`);
    const all = await this.locks.acquire(0, Infinity, true);
    try {
      this.assertUsable();
      if (this.map.findSnapshot(name)) throw new EngineError("EXISTS", `snapshot ${name} already exists`);
      await this.flushNow();
      const frozen = this.map.head;
      this.logApply({ type: "snapshot", frozen: frozen.id, newHead: this.map.nextVersionId, size: frozen.size, createdAt: Date.now(), name });
      await this.wal.sync();
      return { name, id: frozen.id, size: frozen.size, createdAt: new Date(frozen.createdAt), ownedBytes: frozen.slots.size * EXTENT_SIZE };
    } finally {
      this.locks.release(all);
    }
  }

  /** Hides the snapshot at once; its extents are merged into its child (or freed) before this resolves. */
  async deleteSnapshot(name: string): Promise<void> {
    this.assertUsable();
    const v = this.requireSnapshot(name);
    this.logApply({ type: "delete-version", version: v.id });
    await this.wal.sync();
    await this.collectGarbage();
  }

  /** The head becomes the snapshot's content; the discarded head's extents are freed. Other snapshots stay. */
  async revertToSnapshot(name: string): Promise<void> {
    this.assertUsable();
    const all = await this.locks.acquire(0, Infinity, true);
    try {
      this.assertUsable();
      const target = this.requireSnapshot(name);
      await this.flushNow();
      this.logApply({ type: "revert", target: target.id, newHead: this.map.nextVersionId });
      await this.wal.sync();
    } finally {
      this.locks.release(all);
    }
    await this.collectGarbage();
  }

  /** A read-only block device over a snapshot. */
  openSnapshot(name: string): BlockDevice {
    this.assertUsable();
    return new SnapshotDevice(this, this.requireSnapshot(name));
  }

  /**
   * Changed block ranges between two points, from metadata alone: `from`
   * null means "from an empty volume" (every allocated range), `to` null means
   * the live head. Exact at 4 KiB granularity: a block is reported iff it was
   * written, trimmed or zeroed on either side since the common ancestor.
   */
  diff(from: string | null, to: string | null): ByteRange[] {
    this.assertUsable();
    const a = from === null ? null : this.requireSnapshot(from);
    const b = to === null ? this.map.head : this.requireSnapshot(to);
    return diffVersions(this.map, a, b);
  }

  // ---------------------------------------------------------------- internals shared with snapshot views

  /** @internal */
  async readVersion(version: Version, offset: number, target: Buffer): Promise<void> {
    this.assertUsable();
    if (version.removed || (version !== this.map.head && version.deleted)) throw new BlockIoError("ESHUTDOWN", "snapshot was deleted");
    this.checkRange(offset, target.length, version.size);
    if (target.length === 0) return;
    const b0 = Math.floor(offset / BLOCK_SIZE);
    const b1 = Math.ceil((offset + target.length) / BLOCK_SIZE);
    const h = await this.locks.acquire(b0, b1, false);
    try {
      this.assertUsable();
      if (offset % BLOCK_SIZE === 0 && target.length % BLOCK_SIZE === 0) {
        const e0 = Math.floor(b0 / BLOCKS_PER_EXTENT);
        if (e0 === Math.floor((b1 - 1) / BLOCKS_PER_EXTENT)) await this.readExtentBlocks(version, e0, b0 % BLOCKS_PER_EXTENT, b1 - b0, target, 0);
        else await this.readBlocks(version, b0, b1 - b0, target, 0);
      } else {
        const scratch = Buffer.allocUnsafe((b1 - b0) * BLOCK_SIZE);
        await this.readBlocks(version, b0, b1 - b0, scratch, 0);
        const skew = offset - b0 * BLOCK_SIZE;
        scratch.copy(target, 0, skew, skew + target.length);
      }
    } finally {
      this.locks.release(h);
    }
  }

  /** @internal */
  allocatedRangesOf(version: Version, offset: number, length: number): ByteRange[] {
    this.checkRange(offset, length, version.size);
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
      for (let e = firstExtent; e <= lastExtent; e++) if (this.map.hasExtentFrom(version, e)) sorted.push(e);
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
        if (this.map.resolve(version, extent, b - extent * BLOCKS_PER_EXTENT)) {
          if (runStart < 0) runStart = b;
        } else push(b);
      }
      push(to);
    }
    push(last);
    return out;
  }

  // ---------------------------------------------------------------- write path

  /** `crc`: the CRC-32 of `data`, if the caller has it (see BlockDevice.write). */
  private async writeLocked(offset: number, data: Buffer, crc?: number): Promise<void> {
    const e0 = Math.floor(offset / EXTENT_SIZE);
    const e1 = Math.floor((offset + data.length - 1) / EXTENT_SIZE);
    if (e0 === e1) {
      const slot = this.headSlot(e0);
      slot.users++;
      try {
        if (slot.hotWait !== null || !slot.hot) await this.makeHot(slot);
        await this.writeChunk(slot, offset, data, crc);
      } finally {
        slot.users--;
      }
      return;
    }
    // Reserve every extent the request needs before any data moves.
    let missing = 0;
    for (let e = e0; e <= e1; e++) if (!this.map.head.slots.has(e)) missing++;
    if (missing > 0) this.accountant.reserveExtents(missing);
    const slots: Slot[] = [];
    for (let e = e0; e <= e1; e++) {
      const slot = this.map.head.slots.get(e) ?? this.allocSlot(this.map.head, e);
      slot.users++;
      slots.push(slot);
    }
    try {
      await Promise.all(slots.map((s) => (s.hotWait !== null || !s.hot ? this.makeHot(s) : Promise.resolve())));
      await Promise.all(
        slots.map((slot) => {
          const start = Math.max(offset, slot.extent * EXTENT_SIZE);
          const end = Math.min(offset + data.length, (slot.extent + 1) * EXTENT_SIZE);
          return this.writeChunk(slot, start, data.subarray(start - offset, end - offset));
        }),
      );
    } finally {
      for (const s of slots) s.users--;
    }
  }

  /** The head's slot for `extent`, allocating (and reserving) one if needed. */
  private headSlot(extent: number): Slot {
    const existing = this.map.head.slots.get(extent);
    if (existing) return existing;
    this.accountant.reserveExtents(1);
    return this.allocSlot(this.map.head, extent);
  }

  /** Caller has reserved capacity. Synchronous, so two racing writers can't both allocate. */
  private allocSlot(version: Version, extent: number): Slot {
    if (this.pendingFree.length > 0) this.releasePendingFree();
    const id = this.map.free.pop() ?? this.map.nextSlot;
    this.logApply({ type: "alloc", version: version.id, extent, slot: id, incarnation: this.map.nextIncarnation });
    const slot = this.map.slots.get(id);
    if (!slot) throw new EngineError("CORRUPT", "slot allocation failed");
    slot.dirtyEpoch = this.epoch;
    return slot;
  }

  /**
   * Activity log: before the first write into a cold slot, record it as hot
   * durably, so crash recovery knows to re-verify its checksums. Amortized: a
   * slot stays hot across many flushes until evicted.
   */
  private makeHot(slot: Slot): Promise<void> {
    if (slot.hotWait) return slot.hotWait;
    if (slot.hot) return Promise.resolve();
    this.logApply({ type: "hot", slots: [slot.id] });
    const wait = this.wal.sync().finally(() => {
      if (slot.hotWait === wait) slot.hotWait = null;
    });
    slot.hotWait = wait;
    return wait.catch((err: unknown) => {
      throw this.fail(err);
    });
  }

  private async writeChunk(slot: Slot, offset: number, data: Buffer, crc?: number): Promise<void> {
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
      if (headPad !== 0) await this.readBlocks(this.map.head, slot.extent * BLOCKS_PER_EXTENT + fb, 1, plain, 0);
      if (tailPad !== 0 && (lb - 1 !== fb || headPad === 0)) {
        await this.readBlocks(this.map.head, slot.extent * BLOCKS_PER_EXTENT + lb - 1, 1, plain, (lb - 1 - fb) * BLOCK_SIZE);
      }
      data.copy(plain, headPad);
    }
    const fh = this.segments[Math.floor(slot.id / SLOTS_PER_SEGMENT)] ?? (await this.segment(slot.id));
    const pos = physicalPosition(slot.id, fb);
    const crcs = slot.crc;
    try {
      if (this.cipher) {
        const lease = this.cryptoWorker && plain.length >= OFFLOAD_BYTES ? await this.cryptoWorker.encrypt(plain, slot.extent * BLOCKS_PER_EXTENT + fb) : null;
        const sealed = lease ? lease.data : this.scratch.take(plain.length);
        try {
          if (!lease) this.cipher.encryptInto(plain, sealed, slot.extent * BLOCKS_PER_EXTENT + fb);
          const bytesWritten = await this.pwrite(fh, sealed, plain.length, pos);
          if (bytesWritten !== plain.length) throw new BlockIoError("EIO", "short write");
          for (let i = 0, b = fb; b < lb; i += BLOCK_SIZE, b++) crcs[b] = crc32(sealed.subarray(i, i + BLOCK_SIZE));
        } finally {
          if (lease) lease.release();
          else this.scratch.give(sealed);
        }
      } else {
        const bytesWritten = await this.pwrite(fh, plain, plain.length, pos);
        if (bytesWritten !== plain.length) throw new BlockIoError("EIO", "short write");
        // One whole block, stored as given: its CRC is the block checksum (computed once, by the replication target).
        if (crc !== undefined && plain === data && plain.length === BLOCK_SIZE) crcs[fb] = crc >>> 0;
        else for (let i = 0, b = fb; b < lb; i += BLOCK_SIZE, b++) crcs[b] = crc32(plain.subarray(i, i + BLOCK_SIZE));
      }
    } catch (err) {
      throw this.ioError(err);
    }
    setBits(slot.present, fb, lb);
    clearBits(slot.zero, fb, lb);
    this.touch(slot);
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
  private async pwrite(fh: FileHandle, buf: Buffer, length: number, pos: number): Promise<number> {
    if (length <= SYNC_WRITE_MAX_BYTES && performance.now() >= this.syncWritesPausedUntil) {
      // A closed handle reports fd -1; checking it in the same turn as the write rules out a reused fd.
      const fd = fh.fd;
      if (fd < 0) throw new BlockIoError("ESHUTDOWN", `volume ${this.name} is closed`);
      const t0 = performance.now();
      const n = writeSync(fd, buf, 0, length, pos);
      const t1 = performance.now();
      if (t1 - t0 > SYNC_WRITE_STALL_MS) this.syncWritesPausedUntil = t1 + SYNC_WRITE_PAUSE_MS;
      return n;
    }
    return (await fh.write(buf, 0, length, pos)).bytesWritten;
  }

  private touch(slot: Slot): void {
    slot.dirtyEpoch = this.epoch;
    this.dirtyMeta.add(slot);
    this.dirtySegments.add(Math.floor(slot.id / SLOTS_PER_SEGMENT));
  }

  private async zeroRange(offset: number, length: number, noHole: boolean, fua: boolean): Promise<void> {
    this.assertUsable();
    this.checkRange(offset, length, this.size);
    if (length > 0) {
      const end = offset + length;
      const h = await this.locks.acquire(Math.floor(offset / BLOCK_SIZE), Math.ceil(end / BLOCK_SIZE), true);
      try {
        this.assertUsable();
        const wb0 = Math.ceil(offset / BLOCK_SIZE);
        const wb1 = Math.floor(end / BLOCK_SIZE);
        if (wb0 >= wb1) {
          await this.writeLocked(offset, ZEROES.subarray(0, length));
        } else {
          if (offset < wb0 * BLOCK_SIZE) await this.writeLocked(offset, ZEROES.subarray(0, wb0 * BLOCK_SIZE - offset));
          if (end > wb1 * BLOCK_SIZE) await this.writeLocked(wb1 * BLOCK_SIZE, ZEROES.subarray(0, end - wb1 * BLOCK_SIZE));
          if (noHole) {
            for (let at = wb0 * BLOCK_SIZE; at < wb1 * BLOCK_SIZE; at += ZEROES.length) {
              await this.writeLocked(at, ZEROES.subarray(0, Math.min(ZEROES.length, wb1 * BLOCK_SIZE - at)));
            }
          } else {
            this.discardBlocks(wb0, wb1);
          }
        }
      } finally {
        this.locks.release(h);
      }
    }
    if (fua) await this.flush();
  }

  /**
   * Metadata-only discard of whole blocks. Without older snapshots beneath,
   * blocks simply stop being present (and a slot left empty is freed); with
   * snapshots beneath, the blocks are marked zero so reads don't fall through.
   */
  private discardBlocks(b0: number, b1: number): void {
    const head = this.map.head;
    const e0 = Math.floor(b0 / BLOCKS_PER_EXTENT);
    const e1 = Math.floor((b1 - 1) / BLOCKS_PER_EXTENT);
    let missing = 0;
    for (let e = e0; e <= e1; e++) if (!head.slots.has(e) && this.map.hasExtentFrom(head.parent, e)) missing++;
    if (missing > 0) this.accountant.reserveExtents(missing);
    for (let e = e0; e <= e1; e++) {
      const fb = Math.max(b0, e * BLOCKS_PER_EXTENT) - e * BLOCKS_PER_EXTENT;
      const lb = Math.min(b1, (e + 1) * BLOCKS_PER_EXTENT) - e * BLOCKS_PER_EXTENT;
      const below = this.map.hasExtentFrom(head.parent, e);
      let slot = head.slots.get(e);
      if (!below) {
        if (!slot) continue;
        clearBits(slot.present, fb, lb);
        clearBits(slot.zero, fb, lb);
        if (slot.users === 0 && isEmpty(slot.present)) {
          this.freeSlot(slot);
          continue;
        }
      } else {
        slot ??= this.allocSlot(head, e);
        clearBits(slot.present, fb, lb);
        setBits(slot.zero, fb, lb);
      }
      slot.dirtyEpoch = this.epoch;
      this.dirtyMeta.add(slot);
    }
  }

  /** Frees a slot; its id is reused only once the release is durable (else a crash could resurrect stale ownership). */
  private freeSlot(slot: Slot): void {
    const seq = this.logApply({ type: "free", slot: slot.id });
    this.dirtyMeta.delete(slot);
    this.pendingFree.push({ id: slot.id, seq });
    this.accountant.releaseExtents(1);
  }

  private releasePendingFree(): void {
    const durable = this.wal.syncedSeq;
    const keep: Array<{ id: number; seq: number }> = [];
    for (const p of this.pendingFree) {
      if (p.seq <= durable) this.map.free.push(p.id);
      else keep.push(p);
    }
    this.pendingFree = keep;
  }

  // ---------------------------------------------------------------- read path

  /** Reads whole blocks [firstBlock, firstBlock+count) of `version` into dst at dstOff. Caller holds the range lock. */
  private async readBlocks(version: Version, firstBlock: number, count: number, dst: Buffer, dstOff: number): Promise<void> {
    const e0 = Math.floor(firstBlock / BLOCKS_PER_EXTENT);
    const e1 = Math.floor((firstBlock + count - 1) / BLOCKS_PER_EXTENT);
    if (e0 === e1) return this.readExtentBlocks(version, e0, firstBlock % BLOCKS_PER_EXTENT, count, dst, dstOff);
    const jobs: Array<Promise<void>> = [];
    for (let e = e0; e <= e1; e++) {
      const s = Math.max(firstBlock, e * BLOCKS_PER_EXTENT);
      const t = Math.min(firstBlock + count, (e + 1) * BLOCKS_PER_EXTENT);
      jobs.push(this.readExtentBlocks(version, e, s - e * BLOCKS_PER_EXTENT, t - s, dst, dstOff + (s - firstBlock) * BLOCK_SIZE));
    }
    await Promise.all(jobs);
  }

  private async readExtentBlocks(version: Version, extent: number, fb: number, count: number, dst: Buffer, dstOff: number): Promise<void> {
    const own = version.slots.get(extent);
    if (own && !own.bad && allSet(own.present, fb, fb + count)) return this.preadVerify(own, fb, count, dst, dstOff);
    const end = fb + count;
    const jobs: Array<Promise<void>> = [];
    for (let b = fb; b < end; ) {
      const src = this.map.resolve(version, extent, b);
      let r = b + 1;
      while (r < end && this.map.resolve(version, extent, r) === src) r++;
      const at = dstOff + (b - fb) * BLOCK_SIZE;
      if (src === null) dst.fill(0, at, at + (r - b) * BLOCK_SIZE);
      else jobs.push(this.preadVerify(src, b, r - b, dst, at));
      b = r;
    }
    if (jobs.length === 1) return jobs[0];
    if (jobs.length > 0) await Promise.all(jobs);
  }

  /** Reads stored blocks of a slot, verifies each CRC, decrypts. A mismatch is EIO, never data. */
  private async preadVerify(slot: Slot, fb: number, count: number, dst: Buffer, dstOff: number): Promise<void> {
    if (slot.bad) {
      this.checksumErrors++;
      throw new BlockIoError("EIO", `extent ${slot.extent} lost its checksums`);
    }
    const fh = this.segments[Math.floor(slot.id / SLOTS_PER_SEGMENT)] ?? (await this.segment(slot.id));
    const len = count * BLOCK_SIZE;
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(dst, dstOff, len, physicalPosition(slot.id, fb)));
    } catch (err) {
      throw this.ioError(err);
    }
    if (bytesRead < len) dst.fill(0, dstOff + bytesRead, dstOff + len);
    const crcs = slot.crc;
    for (let i = 0; i < count; i++) {
      const at = dstOff + i * BLOCK_SIZE;
      if (crc32(dst.subarray(at, at + BLOCK_SIZE)) !== crcs[fb + i]) {
        this.checksumErrors++;
        const block = slot.extent * BLOCKS_PER_EXTENT + fb + i;
        throw new BlockIoError("EIO", `checksum mismatch at byte offset ${block * BLOCK_SIZE}`);
      }
    }
    if (this.cipher) {
      const first = slot.extent * BLOCKS_PER_EXTENT + fb;
      if (this.cryptoWorker && len >= OFFLOAD_BYTES) {
        try {
          await this.cryptoWorker.decryptInPlace(dst, dstOff, len, first);
        } catch (err) {
          throw this.ioError(err);
        }
      } else this.cipher.decryptInPlace(dst, dstOff, count, first);
    }
  }

  // ---------------------------------------------------------------- flush / durability

  /**
   * Group-committed flush. Covers every write that completed before the call:
   * 1. fdatasync the data segments written since the last flush;
   * 2. write the checksum/bitmap pages captured at flush start (after step 1,
   *    so a durable page never describes data that isn't durable);
   * 3. fdatasync the page file and commit the metadata log.
   */
  private flushNow(): Promise<void> {
    if (this.flushQueued) return this.flushQueued;
    if (this.flushRunning) {
      const queued = this.flushRunning
        .catch(() => undefined)
        .then(() => {
          this.flushQueued = null;
          return this.startFlush();
        });
      this.flushQueued = queued;
      return queued;
    }
    return this.startFlush();
  }

  private startFlush(): Promise<void> {
    const run = this.doFlush().finally(() => {
      if (this.flushRunning === run) this.flushRunning = null;
    });
    this.flushRunning = run;
    return run;
  }

  private async doFlush(): Promise<void> {
    const epoch = this.epoch++;
    const segs = [...this.dirtySegments];
    this.dirtySegments.clear();
    const pages = this.capturePages();
    try {
      if (segs.length > 0) {
        await Promise.all(segs.map(async (i) => (await this.segment(i * SLOTS_PER_SEGMENT)).datasync()));
      }
      if (pages.positions.length > 0) {
        await Promise.all(pages.positions.map((pos, i) => this.metaFh.write(pages.buf, i * META_PAGE_BYTES, META_PAGE_BYTES, pos)));
        await this.metaFh.datasync();
      }
      await this.wal.sync();
    } catch (err) {
      // We can no longer tell what is durable: stop accepting I/O (the
      // Linux fsync-error lesson: retrying a failed fsync can lie).
      throw this.fail(err);
    }
    this.durableEpoch = epoch;
    if (this.pendingFree.length > 0) this.releasePendingFree();
    this.retireHot(false);
    if (this.wal.size > this.checkpointBytes) await this.checkpoint();
  }

  private capturePages(): { buf: Buffer; positions: number[] } {
    const positions: number[] = [];
    const buf = Buffer.allocUnsafe(this.dirtyMeta.size * META_PAGE_BYTES);
    let i = 0;
    for (const slot of this.dirtyMeta) {
      if (this.map.slots.get(slot.id) !== slot) continue;
      slot.pageGen++;
      encodeMetaPage(
        { slot: slot.id, owner: slot.version, extent: slot.extent, incarnation: slot.incarnation, generation: slot.pageGen, crc: slot.crc, present: slot.present, zero: slot.zero },
        buf,
        i * META_PAGE_BYTES,
      );
      positions.push(metaPagePosition(slot.id, slot.pageGen & 1));
      i++;
    }
    this.dirtyMeta.clear();
    return { buf, positions };
  }

  /**
   * Moves clean slots out of the activity log once it exceeds its size (or
   * all of them when closing). Clean = nothing changed since the last
   * completed flush and nothing in flight. The "cold" record needn't be
   * durable at once: losing it only costs a spare re-verify after a crash.
   */
  private retireHot(all: boolean): void {
    const limit = all ? 0 : this.alExtents;
    if (this.map.hot.size <= limit) return;
    const target = all ? 0 : Math.floor(limit * 0.75);
    const retire: number[] = [];
    let excess = this.map.hot.size - target;
    for (const slot of this.map.hot) {
      if (excess <= 0) break;
      if (slot.users === 0 && slot.hotWait === null && slot.dirtyEpoch <= this.durableEpoch && !this.dirtyMeta.has(slot)) {
        retire.push(slot.id);
        excess--;
      }
    }
    if (retire.length > 0) this.logApply({ type: "cold", slots: retire });
  }

  private async checkpoint(): Promise<void> {
    const seq = this.wal.appendedSeq;
    await writeCheckpoint(this.dir, this.map.toCheckpoint(seq));
    await this.wal.truncateThrough(seq);
    if (this.pendingFree.length > 0) this.releasePendingFree();
  }

  // ---------------------------------------------------------------- open / recovery

  private async loadSlotPages(): Promise<void> {
    const ids = [...this.map.slots.keys()].sort((a, b) => a - b);
    const buf = Buffer.alloc(META_SLOT_BYTES);
    for (const id of ids) {
      const slot = this.map.slots.get(id);
      if (!slot) continue;
      buf.fill(0);
      await this.metaFh.read(buf, 0, META_SLOT_BYTES, metaPagePosition(id, 0));
      let best: ReturnType<typeof decodeMetaPage>;
      for (let c = 0; c < 2; c++) {
        const p = decodeMetaPage(buf, c * META_PAGE_BYTES);
        if (p && p.slot === id && p.incarnation === slot.incarnation && p.extent === slot.extent && (!best || p.generation > best.generation)) best = p;
      }
      if (best) {
        slot.crc.set(best.crc);
        slot.present.set(best.present);
        slot.zero.set(best.zero);
        slot.pageGen = best.generation;
      } else if (!slot.hot) {
        // A cold slot always has a durable page (it only turns cold after a
        // flush wrote one), so this is damage: fail its reads, don't guess.
        slot.bad = true;
        this.recovery.lostExtents++;
      }
    }
  }

  /**
   * After an unclean shutdown, hot slots may hold writes newer than their
   * durable checksum pages (the kernel may have written back some unflushed
   * data, not necessarily the matching page). Such blocks were not covered
   * by a completed FLUSH, so either old or new content is acceptable; we
   * re-derive their checksums from what is on disk so that every checksum is
   * consistent again. Blocks flushed before the crash are unaffected: their
   * data and checksums were durable together.
   */
  private async recover(): Promise<void> {
    const hot = [...this.map.hot];
    if (hot.length === 0) return;
    this.recovery.unclean = true;
    const scratch = Buffer.allocUnsafe(EXTENT_SIZE);
    for (const slot of hot) {
      if (slot.bad || isEmpty(slot.present)) continue;
      const fh = await this.segment(slot.id);
      const { bytesRead } = await fh.read(scratch, 0, EXTENT_SIZE, physicalPosition(slot.id, 0));
      if (bytesRead < EXTENT_SIZE) scratch.fill(0, bytesRead);
      let changed = 0;
      for (let b = 0; b < BLOCKS_PER_EXTENT; b++) {
        if (!testBit(slot.present, b)) continue;
        const c = crc32(scratch.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE));
        if (c !== slot.crc[b]) {
          slot.crc[b] = c;
          changed++;
        }
      }
      this.recovery.rehashedExtents++;
      if (changed > 0) {
        this.recovery.rehashedBlocks += changed;
        this.touch(slot);
      }
    }
    await this.flushNow();
    this.retireHot(true);
    await this.checkpoint();
  }

  // ---------------------------------------------------------------- snapshot garbage collection

  /**
   * Removes deleted versions that have at most one child: with none, their
   * extents are freed; with one, they are merged into the child (extents the
   * child lacks are handed over by metadata; otherwise the blocks the child
   * lacks are copied as stored — ciphertext and CRC as-is, since the XTS tweak
   * is the logical block number). A version with two children (after a revert)
   * stays hidden until one side goes. This keeps read chains as short as the
   * number of live snapshots. Serialized; I/O pauses per extent only.
   */
  collectGarbage(): Promise<void> {
    const next = this.gcChain.catch(() => undefined).then(() => this.gcOnce());
    this.gcChain = next;
    return next;
  }

  private async gcOnce(): Promise<void> {
    for (;;) {
      if (this.state !== "open" && this.state !== "closing") return;
      let victim: Version | undefined;
      for (const v of this.map.versions.values()) {
        if (v !== this.map.head && v.deleted && this.map.childrenOf(v).length <= 1) {
          victim = v;
          break;
        }
      }
      if (!victim) return;
      const child = this.map.childrenOf(victim)[0];
      const merged: Slot[] = [];
      for (const [extent, slot] of [...victim.slots]) {
        const h = await this.locks.acquire(extent * BLOCKS_PER_EXTENT, (extent + 1) * BLOCKS_PER_EXTENT, true);
        try {
          if (!child) {
            this.freeSlot(slot);
          } else {
            const target = child.slots.get(extent);
            if (!target) {
              this.logApply({ type: "reassign", slot: slot.id, version: child.id });
              this.touch(slot);
            } else if (countBits(target.present) < countForward(slot, target)) {
              await this.absorbSlot(target, slot);
              // The child's blocks must be durable in the parent's slot before
              // the child's own slot goes; the extent stays locked meanwhile.
              await this.flushNow();
              // "free" before "reassign": a log cut between them leaves the
              // child without a slot, reading through to the merged parent.
              this.freeSlot(target);
              this.logApply({ type: "reassign", slot: slot.id, version: child.id });
              this.touch(slot);
            } else {
              await this.mergeSlot(slot, target);
              merged.push(slot);
            }
          }
        } finally {
          this.locks.release(h);
        }
      }
      // Copies must be durable before the source extents can be released.
      await this.flushNow();
      for (const s of merged) if (this.map.slots.get(s.id) === s) this.freeSlot(s);
      this.logApply({ type: "remove-version", version: victim.id });
      await this.wal.sync();
      if (this.pendingFree.length > 0) this.releasePendingFree();
    }
  }

  /** Forward merge: blocks `into` (the child's slot) lacks are copied from `from` (the deleted parent's). */
  private async mergeSlot(from: Slot, into: Slot): Promise<void> {
    for (let b = 0; b < BLOCKS_PER_EXTENT; b++) {
      if (!testBit(into.present, b) && !testBit(into.zero, b) && testBit(from.zero, b)) setBits(into.zero, b, b + 1);
    }
    await this.copyBlocks(from, into, (i) => !testBit(into.present, i) && !testBit(into.zero, i) && testBit(from.present, i));
  }

  /**
   * Backward merge: the child's blocks are copied over the deleted parent's
   * slot, which then becomes the child's. Cheaper when the child is sparse
   * (the usual case: a head that rewrote a few blocks since the snapshot).
   */
  private async absorbSlot(childSlot: Slot, parentSlot: Slot): Promise<void> {
    for (let b = 0; b < BLOCKS_PER_EXTENT; b++) {
      if (testBit(childSlot.zero, b)) {
        setBits(parentSlot.zero, b, b + 1);
        clearBits(parentSlot.present, b, b + 1);
      }
    }
    await this.copyBlocks(childSlot, parentSlot, (i) => testBit(childSlot.present, i));
  }

  /** Copies stored blocks (ciphertext and CRC as-is) from one slot of the same extent to another. */
  private async copyBlocks(from: Slot, into: Slot, pick: (block: number) => boolean): Promise<void> {
    into.users++;
    try {
      if (from.bad) into.bad = true;
      await this.makeHot(into);
      const fromFh = await this.segment(from.id);
      const intoFh = await this.segment(into.id);
      let b = 0;
      while (b < BLOCKS_PER_EXTENT) {
        if (!pick(b)) {
          b++;
          continue;
        }
        let e = b + 1;
        while (e < BLOCKS_PER_EXTENT && pick(e)) e++;
        const buf = Buffer.allocUnsafe((e - b) * BLOCK_SIZE);
        try {
          const { bytesRead } = await fromFh.read(buf, 0, buf.length, physicalPosition(from.id, b));
          if (bytesRead < buf.length) buf.fill(0, bytesRead);
          await intoFh.write(buf, 0, buf.length, physicalPosition(into.id, b));
        } catch (err) {
          throw this.ioError(err);
        }
        for (let i = b; i < e; i++) into.crc[i] = from.crc[i] ?? 0;
        setBits(into.present, b, e);
        clearBits(into.zero, b, e);
        this.mergeCopiedBlocks += e - b;
        b = e;
      }
      this.touch(into);
    } finally {
      into.users--;
    }
  }

  // ---------------------------------------------------------------- scrub support

  /** @internal Used by scrub(); walks head and snapshot slots. */
  scrubSource(): ScrubSource {
    return {
      name: this.name,
      listSlots: () =>
        [...this.map.slots.values()].map((s) => {
          const v = this.map.versions.get(s.version);
          return {
            slot: s.id,
            extent: s.extent,
            version: s.version,
            snapshot: v && v !== this.map.head ? v.name : null,
            hidden: v ? v !== this.map.head && v.deleted : true,
          };
        }),
      verifySlot: async (id, scratch) => {
        this.assertUsable();
        const pre = this.map.slots.get(id);
        if (!pre) return null;
        const h = await this.locks.acquire(pre.extent * BLOCKS_PER_EXTENT, (pre.extent + 1) * BLOCKS_PER_EXTENT, false);
        try {
          const slot = this.map.slots.get(id);
          if (slot !== pre) return null;
          if (slot.bad) return Array.from({ length: BLOCKS_PER_EXTENT }, (_, i) => i);
          const fh = await this.segment(slot.id);
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
          this.locks.release(h);
        }
      },
    };
  }

  // ---------------------------------------------------------------- helpers

  private logApply(rec: WalRecord): number {
    this.map.apply(rec);
    return this.wal.append(rec);
  }

  private requireSnapshot(name: string): Version {
    const v = this.map.findSnapshot(name);
    if (!v) throw new EngineError("NOT_FOUND", `snapshot ${name} not found on volume ${this.name}`);
    return v;
  }

  private segment(slotId: number): Promise<FileHandle> {
    const idx = Math.floor(slotId / SLOTS_PER_SEGMENT);
    const open0 = this.segments[idx];
    if (open0) return Promise.resolve(open0);
    let p = this.segmentOpens.get(idx);
    if (!p) {
      const file = path.join(this.dir, `seg-${String(idx).padStart(5, "0")}.dat`);
      p = open(file, fsc.O_RDWR | fsc.O_CREAT, 0o600).then((fh) => {
        this.segments[idx] = fh;
        return fh;
      });
      this.segmentOpens.set(idx, p);
      p.catch(() => this.segmentOpens.delete(idx));
    }
    return p;
  }

  private assertUsable(): void {
    if (this.state === "open") return;
    if (this.state === "failed") throw new BlockIoError("EIO", `volume ${this.name} failed and must be reopened`);
    throw new BlockIoError("ESHUTDOWN", `volume ${this.name} is closed`);
  }

  private checkRange(offset: number, length: number, size: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new BlockIoError("EINVAL", "offset and length must be non-negative integers");
    }
    if (offset + length > size) throw new BlockIoError("EINVAL", `range ${offset}+${length} exceeds device size ${size}`);
  }

  private ioError(err: unknown): BlockIoError {
    if (err instanceof BlockIoError) return err;
    this.accountant.reportIoError?.(err);
    if (errnoCode(err) === "ENOSPC") return new BlockIoError("ENOSPC", "the pool's filesystem is full");
    return new BlockIoError("EIO", err instanceof Error ? err.message : "I/O error");
  }

  private fail(err: unknown): BlockIoError {
    if (this.state === "open") this.state = "failed";
    this.accountant.reportIoError?.(err);
    return err instanceof BlockIoError ? err : new BlockIoError("EIO", "metadata commit failed; volume needs to be reopened");
  }
}

/**
 * Reusable ciphertext buffers for the encrypted write path: a write needs a
 * buffer as long as the request only until its pwrite completes, so a few
 * per size class avoid an allocation (and fresh page faults) per request.
 */
class ScratchPool {
  private readonly free = new Map<number, Buffer[]>();
  private static readonly KEEP = 4;
  // Larger requests go to the crypto workers, so only small sizes recur here.
  private static readonly MAX_BYTES = 128 * 1024;

  take(length: number): Buffer {
    const list = this.free.get(length);
    return list?.pop() ?? Buffer.allocUnsafeSlow(length);
  }

  give(buf: Buffer): void {
    if (buf.length > ScratchPool.MAX_BYTES) return;
    let list = this.free.get(buf.length);
    if (!list) {
      if (this.free.size >= 8) return;
      list = [];
      this.free.set(buf.length, list);
    }
    if (list.length < ScratchPool.KEEP) list.push(buf);
  }
}

function physicalPosition(slotId: number, block: number): number {
  return (slotId % SLOTS_PER_SEGMENT) * EXTENT_SIZE + block * BLOCK_SIZE;
}

/** Blocks a forward merge of `from` into `into` would copy. */
function countForward(from: Slot, into: Slot): number {
  let n = 0;
  for (let i = 0; i < from.present.length; i++) {
    let x = (from.present[i] ?? 0) & ~((into.present[i] ?? 0) | (into.zero[i] ?? 0));
    while (x !== 0) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

export function validateName(name: string, what: string): void {
  if (!NAME_RE.test(name)) throw new EngineError("INVALID", `${what} name "${name}" must match ${NAME_RE.source}`);
}

function validateSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size % BLOCK_SIZE !== 0 || size > MAX_VOLUME_SIZE) {
    throw new EngineError("INVALID", `volume size must be a positive multiple of ${BLOCK_SIZE} up to ${MAX_VOLUME_SIZE}`);
  }
}

async function loadMap(dir: string, sb: Superblock): Promise<{ map: ExtentMap; wal: WalLog; discarded: number }> {
  const ck = await readCheckpoint(dir);
  const map = ck ? ExtentMap.fromCheckpoint(ck) : ExtentMap.empty(sb.size);
  const base = ck ? ck.seq : 0;
  const { wal, replay } = await WalLog.open(dir);
  wal.advanceSeq(base);
  try {
    for (const { seq, rec } of replay.records) if (seq > base) map.apply(rec);
  } catch (err) {
    await wal.close();
    throw err;
  }
  map.rebuildFreeList();
  return { map, wal, discarded: replay.discardedBytes };
}
