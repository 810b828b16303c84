/**
 * The state a volume's parts share (superblock, extent map, WAL, locks, open
 * files, flush and merge bookkeeping) and the few helpers every part uses.
 *
 * The parts (read/write paths, durability pipeline, open and recovery,
 * snapshot merge, scrub source) are modules of functions over one
 * VolumeCore rather than layers of a class hierarchy: each sees the same
 * fields, none is reached through another, and the hot paths cost what they
 * did as methods. `Volume` keeps its core private, so none of this is API.
 */
import { constants as fsc } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { BlockIoError } from "../block-device";
import type { XtsCipher } from "../crypto/xts";
import type { XtsWorker } from "../crypto/xts-worker";
import type { KmsProvider } from "../kms/provider";
import { errnoCode } from "../errors";
import { RangeLock } from "../util/range-lock";
import type { ExtentMap, Slot } from "./extent-map";
import { BLOCK_SIZE, EXTENT_SIZE, SLOTS_PER_SEGMENT } from "./geometry";
import { ScratchPool } from "./scratch-pool";
import type { Superblock } from "./superblock";
import type { WalLog, WalRecord } from "./wal";

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

const DEFAULT_AL_EXTENTS = 1024;
const DEFAULT_CHECKPOINT_BYTES = 1 << 20;

export type LifeState = "open" | "closing" | "closed" | "failed";

/** What opening the volume found and repaired (filled in by recovery.ts). */
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

export class VolumeCore {
  readonly locks = new RangeLock();
  state: LifeState = "open";
  readonly segments: Array<FileHandle | undefined> = [];
  readonly segmentOpens = new Map<number, Promise<FileHandle>>();

  // Write path (see volume-io.ts).
  readonly scratch = new ScratchPool();
  /** See pwrite in volume-io.ts: until then, data writes go through the threadpool. */
  syncWritesPausedUntil = 0;

  // Durability pipeline (see durability.ts).
  readonly dirtySegments = new Set<number>();
  readonly dirtyMeta = new Set<Slot>();
  pendingFree: Array<{ id: number; seq: number }> = [];
  /** Flush epoch: changes made now are tagged with it; see Slot.dirtyEpoch. */
  epoch = 1;
  durableEpoch = 0;
  flushRunning: Promise<void> | null = null;
  flushQueued: Promise<void> | null = null;
  readonly alExtents: number;
  readonly checkpointBytes: number;

  // Snapshot merge (see snapshot-merge.ts).
  gcChain: Promise<void> = Promise.resolve();
  mergeCopiedBlocks = 0;

  checksumErrors = 0;
  readonly recovery: RecoveryReport = { unclean: false, rehashedExtents: 0, rehashedBlocks: 0, walBytesDiscarded: 0, lostExtents: 0 };

  constructor(
    readonly dir: string,
    readonly sb: Superblock,
    readonly map: ExtentMap,
    readonly wal: WalLog,
    readonly metaFh: FileHandle,
    readonly cipher: XtsCipher | null,
    readonly cryptoWorker: XtsWorker | null,
    readonly accountant: CapacityAccountant,
    opts: VolumeOpenOptions,
  ) {
    this.alExtents = Math.max(8, opts.activityLogExtents ?? DEFAULT_AL_EXTENTS);
    this.checkpointBytes = opts.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
  }

  get name(): string {
    return this.sb.name;
  }

  /** Applies a metadata change to the map and appends it to the WAL (buffered); returns its sequence number. */
  logApply(rec: WalRecord): number {
    this.map.apply(rec);
    return this.wal.append(rec);
  }

  /** Marks a slot's data and checksum page as changed in the current flush epoch. */
  touch(slot: Slot): void {
    slot.dirtyEpoch = this.epoch;
    this.dirtyMeta.add(slot);
    this.dirtySegments.add(Math.floor(slot.id / SLOTS_PER_SEGMENT));
  }

  /** The data segment holding `slotId`, opened (once) on first use. */
  segment(slotId: number): Promise<FileHandle> {
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

  assertUsable(): void {
    if (this.state === "open") return;
    if (this.state === "failed") throw new BlockIoError("EIO", `volume ${this.name} failed and must be reopened`);
    throw new BlockIoError("ESHUTDOWN", `volume ${this.name} is closed`);
  }

  /** A data-path failure: reported for pool health, surfaced as a BlockIoError. */
  ioError(err: unknown): BlockIoError {
    if (err instanceof BlockIoError) return err;
    this.accountant.reportIoError?.(err);
    if (errnoCode(err) === "ENOSPC") return new BlockIoError("ENOSPC", "the pool's filesystem is full");
    return new BlockIoError("EIO", err instanceof Error ? err.message : "I/O error");
  }

  /** A failure after which we can't tell what is durable: the volume stops accepting I/O until reopened. */
  fail(err: unknown): BlockIoError {
    if (this.state === "open") this.state = "failed";
    this.accountant.reportIoError?.(err);
    return err instanceof BlockIoError ? err : new BlockIoError("EIO", "metadata commit failed; volume needs to be reopened");
  }

  async closeFiles(): Promise<void> {
    for (const p of this.segmentOpens.values()) await p.then((fh) => fh.close()).catch(() => undefined);
    this.segmentOpens.clear();
    this.segments.length = 0;
    await this.metaFh.close().catch(() => undefined);
    await this.wal.close().catch(() => undefined);
    this.cryptoWorker?.close();
  }
}

export function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new BlockIoError("EINVAL", "offset and length must be non-negative integers");
  }
  if (offset + length > size) throw new BlockIoError("EINVAL", `range ${offset}+${length} exceeds device size ${size}`);
}

/** Byte position of a slot's block within its segment file. */
export function physicalPosition(slotId: number, block: number): number {
  return (slotId % SLOTS_PER_SEGMENT) * EXTENT_SIZE + block * BLOCK_SIZE;
}
