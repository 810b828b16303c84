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
import { mkdir, rm } from "node:fs/promises";
import { OBJECT_NAME_RULE, isValidReplicaId, isValidSnapshotName, isValidVolumeName } from "@stowage/vocabulary";
import type { BlockDevice } from "../block-device";
import { dataKeyCheck, generateDataKey } from "../crypto/xts";
import { diffVersions, type ByteRange } from "./version-diff";
import { SnapshotDevice } from "./snapshot-device";
import { EngineError, errnoCode } from "../errors";
import type { RangeLock } from "../util/range-lock";
import { writeCheckpoint } from "./checkpoint";
import { checkpoint, flushNow, retireHot } from "./durability";
import { ExtentMap, type Version } from "./extent-map";
import { BLOCK_SIZE, EXTENT_SIZE, MAX_VOLUME_SIZE } from "./geometry";
import { loadMap, openCore, type RecoveryReport } from "./recovery";
import { scrubSource, type ScrubSource } from "./scrub-source";
import { collectGarbage } from "./snapshot-merge";
import { readSuperblock, writeSuperblock, type Superblock } from "./superblock";
import { checkRange, type VolumeCore, type VolumeOpenOptions } from "./volume-core";
import { allocatedRangesOf, readVersion, writeLocked, zeroRange } from "./volume-io";
import { WalLog } from "./wal";

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

  // ---------------------------------------------------------------- block device
  // Entry points: each calls straight into volume-io.ts with the core, so a
  // request pays no extra await or allocation for the split.

  async read(offset: number, target: Buffer): Promise<void> {
    return readVersion(this.core, this.core.map.head, offset, target);
  }

  /** Callers must not modify `data` until the returned promise settles. */
  async write(offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void> {
    const core = this.core;
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
    if (opts?.fua) await this.flush();
  }

  async flush(): Promise<void> {
    this.core.assertUsable();
    return flushNow(this.core);
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
