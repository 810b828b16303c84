import { randomUUID } from "node:crypto";
import { constants as fsc } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, statfs, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BlockIoError } from "../block-device";
import type { KmsProvider } from "../kms/provider";
import { copyDevice } from "../snapshot/clone";
import { syncDir, writeFileAtomic } from "../util/atomic-file";
import { EngineError, errnoCode } from "../errors";
import { EXTENT_SIZE } from "../volume/geometry";
import { SUPERBLOCK_FILE } from "../volume/superblock";
import { Volume, validateName, type CapacityAccountant, type VolumeOpenOptions } from "../volume/volume";

/**
 * A directory-backed storage pool on one node.
 *
 * Layout:
 *   <dir>/pool.json            identity (format version, uuid), atomic replace
 *   <dir>/pool.lock            pid of the process that owns the pool
 *   <dir>/volumes/<name>/      one directory per volume (see volume.ts)
 *   <dir>/trash/               volumes being deleted (rename first, then remove)
 *
 * Capacity accounting is in whole 4 MiB extents: `allocated` counts every
 * extent a volume or snapshot holds, `provisioned` sums volume sizes. Thin
 * provisioning lets provisioned exceed capacity up to `overcommitRatio`;
 * allocation beyond capacity fails the request with ENOSPC before any of its
 * data is written, so a full pool never corrupts a volume.
 */
export const POOL_FILE = "pool.json";
export const POOL_FORMAT_VERSION = 1;
const LOCK_FILE = "pool.lock";
/** Pools open in this process: the pid lock can't tell two opens by one process apart. */
const openInProcess = new Set<string>();

const poolFileSchema = z.object({
  formatVersion: z.literal(POOL_FORMAT_VERSION),
  uuid: z.string().uuid(),
  createdAt: z.string(),
});

export interface PoolOptions {
  dir: string;
  /** Capacity in bytes; by default the size of the filesystem holding `dir`. */
  capacityBytes?: number;
  /** provisioned ≤ capacity × ratio. 1 disables over-commit. Default 2. */
  overcommitRatio?: number;
  /** Free bytes the filesystem must keep; allocation fails with ENOSPC below it. Default 64 MiB. */
  reserveBytes?: number;
  /** Default KMS provider for encrypted volumes. */
  kms?: KmsProvider;
  /** Passed to every volume (activity-log size, checkpoint threshold). */
  volumeDefaults?: Omit<VolumeOpenOptions, "kms" | "accountant">;
}

export type PoolHealthState = "healthy" | "degraded" | "failed";

export interface PoolHealth {
  state: PoolHealthState;
  reasons: string[];
}

export interface PoolStats {
  uuid: string;
  dir: string;
  capacityBytes: number;
  /** Bytes of extents allocated by volumes and snapshots. */
  allocatedBytes: number;
  /** Sum of volume sizes. */
  provisionedBytes: number;
  /** Bytes still allocatable. */
  availableBytes: number;
  overcommitRatio: number;
  /** Free bytes on the filesystem holding the pool. */
  filesystemFreeBytes: number;
  volumes: number;
  health: PoolHealth;
}

export interface VolumeInfo {
  name: string;
  uuid: string;
  size: number;
  encrypted: boolean;
  allocatedBytes: number;
  open: boolean;
  /** Why the volume is unusable (damaged metadata), if it is. */
  error?: string;
}

interface VolumeEntry {
  name: string;
  uuid: string;
  size: number;
  encrypted: boolean;
  extents: number;
  volume: Volume | null;
  opening: Promise<Volume> | null;
  /** Set when the volume's metadata could not be read at pool open. */
  error?: string;
}

export class Pool {
  private readonly volumes = new Map<string, VolumeEntry>();
  private allocatedExtents = 0;
  private fsCapacity = 0;
  private fsFree = 0;
  private lastStatfs = 0;
  private statfsRefresh: Promise<void> | null = null;
  private ioErrors = 0;
  private lastIoError: string | null = null;
  private closed = false;
  private readonly overcommitRatio: number;
  private readonly reserveBytes: number;

  private constructor(
    readonly dir: string,
    readonly uuid: string,
    private readonly opts: PoolOptions,
  ) {
    this.overcommitRatio = opts.overcommitRatio ?? 2;
    this.reserveBytes = opts.reserveBytes ?? 64 << 20;
    if (!(this.overcommitRatio >= 1)) throw new EngineError("INVALID", "overcommitRatio must be ≥ 1");
  }

  /** Opens (creating if needed) the pool in `opts.dir` and accounts every volume in it. */
  static async open(opts: PoolOptions): Promise<Pool> {
    const dir = path.resolve(opts.dir);
    await mkdir(path.join(dir, "volumes"), { recursive: true, mode: 0o700 });
    await mkdir(path.join(dir, "trash"), { recursive: true, mode: 0o700 });
    let meta: z.infer<typeof poolFileSchema>;
    try {
      meta = poolFileSchema.parse(JSON.parse(await readFile(path.join(dir, POOL_FILE), "utf8")));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw new EngineError("CORRUPT", `pool file in ${dir} is invalid`, { cause: err });
      meta = { formatVersion: POOL_FORMAT_VERSION, uuid: randomUUID(), createdAt: new Date().toISOString() };
      await writeFileAtomic(path.join(dir, POOL_FILE), JSON.stringify(meta, null, 2) + "\n");
    }
    if (openInProcess.has(dir)) throw new EngineError("BUSY", `pool ${dir} is already open in this process`);
    await takeLock(dir);
    openInProcess.add(dir);
    const pool = new Pool(dir, meta.uuid, opts);
    try {
      await pool.refreshStatfs();
      // Finish deletions interrupted by a crash.
      for (const t of await readdir(path.join(dir, "trash"))) await rm(path.join(dir, "trash", t), { recursive: true, force: true });
      for (const name of await readdir(path.join(dir, "volumes"))) {
        const vdir = path.join(dir, "volumes", name);
        if (!(await exists(path.join(vdir, SUPERBLOCK_FILE)))) {
          // A create that crashed before its superblock was written.
          await rm(vdir, { recursive: true, force: true });
          continue;
        }
        try {
          const s = await Volume.inspect(vdir);
          pool.volumes.set(name, { name, uuid: s.uuid, size: s.size, encrypted: s.encrypted, extents: s.allocatedExtents, volume: null, opening: null });
          pool.allocatedExtents += s.allocatedExtents;
        } catch (err) {
          // One damaged volume must not take the node's other volumes down with it.
          const message = err instanceof Error ? err.message : String(err);
          pool.volumes.set(name, { name, uuid: "", size: 0, encrypted: false, extents: 0, volume: null, opening: null, error: message });
        }
      }
    } catch (err) {
      openInProcess.delete(dir);
      await releaseLock(dir);
      throw err;
    }
    return pool;
  }

  get capacityBytes(): number {
    return this.opts.capacityBytes ?? this.fsCapacity;
  }

  get provisionedBytes(): number {
    let total = 0;
    for (const v of this.volumes.values()) total += v.size;
    return total;
  }

  get allocatedBytes(): number {
    return this.allocatedExtents * EXTENT_SIZE;
  }

  async stats(): Promise<PoolStats> {
    await this.refreshStatfs();
    const capacity = this.capacityBytes;
    return {
      uuid: this.uuid,
      dir: this.dir,
      capacityBytes: capacity,
      allocatedBytes: this.allocatedBytes,
      provisionedBytes: this.provisionedBytes,
      availableBytes: Math.max(0, Math.min(capacity - this.allocatedBytes, this.fsFree - this.reserveBytes)),
      overcommitRatio: this.overcommitRatio,
      filesystemFreeBytes: this.fsFree,
      volumes: this.volumes.size,
      health: this.health(),
    };
  }

  /** Healthy, or degraded (nearly full / filesystem low) or failed (disk I/O errors). */
  health(): PoolHealth {
    const reasons: string[] = [];
    let state: PoolHealthState = "healthy";
    if (this.ioErrors > 0) {
      state = "failed";
      reasons.push(`${this.ioErrors} disk I/O error(s), last: ${this.lastIoError ?? "unknown"}`);
    }
    const capacity = this.capacityBytes;
    if (capacity > 0 && this.allocatedBytes >= capacity * 0.95) {
      if (state === "healthy") state = "degraded";
      reasons.push(this.allocatedBytes >= capacity ? "pool is full" : "pool is over 95% allocated");
    }
    const damaged = [...this.volumes.values()].filter((v) => v.error).map((v) => v.name);
    if (damaged.length > 0) {
      if (state === "healthy") state = "degraded";
      reasons.push(`damaged volume metadata: ${damaged.join(", ")}`);
    }
    if (this.fsFree < this.reserveBytes * 2) {
      if (state === "healthy") state = "degraded";
      reasons.push("filesystem free space is below twice the reserve");
    }
    return { state, reasons };
  }

  /** Writes, syncs and reads back a probe file: catches a disk that fails or went read-only. */
  async probe(): Promise<PoolHealth> {
    const file = path.join(this.dir, ".probe");
    try {
      const data = Buffer.from(randomUUID());
      const fh = await open(file, fsc.O_RDWR | fsc.O_CREAT | fsc.O_TRUNC, 0o600);
      try {
        await fh.write(data, 0, data.length, 0);
        await fh.datasync();
        const back = Buffer.alloc(data.length);
        await fh.read(back, 0, back.length, 0);
        if (!back.equals(data)) throw new Error("probe read back different data");
      } finally {
        await fh.close();
      }
    } catch (err) {
      this.recordIoError(err);
    }
    await this.refreshStatfs();
    return this.health();
  }

  listVolumes(): VolumeInfo[] {
    return [...this.volumes.values()]
      .map((v) => ({
        name: v.name,
        uuid: v.uuid,
        size: v.size,
        encrypted: v.encrypted,
        allocatedBytes: v.extents * EXTENT_SIZE,
        open: v.volume !== null,
        ...(v.error ? { error: v.error } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates and opens a volume. `encrypted` uses `kms` or the pool's default provider. */
  async createVolume(spec: { name: string; size: number; encrypted?: boolean; kms?: KmsProvider }): Promise<Volume> {
    this.assertOpen();
    validateName(spec.name, "volume");
    if (this.volumes.has(spec.name)) throw new EngineError("EXISTS", `volume ${spec.name} already exists`);
    this.checkOvercommit(spec.size);
    const kms = spec.kms ?? this.opts.kms;
    if (spec.encrypted && !kms) throw new EngineError("INVALID", "an encrypted volume needs a KMS provider");
    const entry: VolumeEntry = { name: spec.name, uuid: "", size: spec.size, encrypted: spec.encrypted === true, extents: 0, volume: null, opening: null };
    // Registered before the async create so a concurrent create of the same name fails and provisioning counts it.
    this.volumes.set(spec.name, entry);
    try {
      const vol = await Volume.create(this.volumeDir(spec.name), {
        ...this.opts.volumeDefaults,
        name: spec.name,
        size: spec.size,
        encrypted: spec.encrypted === true,
        ...(kms ? { kms } : {}),
        accountant: this.accountantFor(entry),
      });
      entry.uuid = vol.uuid;
      entry.volume = vol;
      return vol;
    } catch (err) {
      this.volumes.delete(spec.name);
      throw err;
    }
  }

  /** Opens a volume, or returns the already-open instance. */
  async openVolume(name: string, opts: { kms?: KmsProvider } = {}): Promise<Volume> {
    this.assertOpen();
    const entry = this.entry(name);
    if (entry.error) throw new EngineError("CORRUPT", `volume ${name} is damaged: ${entry.error}`);
    if (entry.volume?.isOpen) return entry.volume;
    if (entry.opening) return entry.opening;
    const kms = opts.kms ?? this.opts.kms;
    const opening = Volume.open(this.volumeDir(name), { ...this.opts.volumeDefaults, ...(kms ? { kms } : {}), accountant: this.accountantFor(entry) });
    entry.opening = opening;
    try {
      const vol = await opening;
      entry.volume = vol;
      entry.extents = vol.allocatedExtents;
      this.recount();
      return vol;
    } finally {
      entry.opening = null;
    }
  }

  /** The open instance, if any. */
  getVolume(name: string): Volume | undefined {
    const v = this.volumes.get(name)?.volume;
    return v?.isOpen ? v : undefined;
  }

  async closeVolume(name: string): Promise<void> {
    const entry = this.entry(name);
    const vol = entry.volume;
    entry.volume = null;
    if (vol) await vol.close();
  }

  /** Closes the volume if open and removes it with its snapshots; its space returns to the pool. */
  async deleteVolume(name: string): Promise<void> {
    this.assertOpen();
    const entry = this.entry(name);
    if (entry.opening) await entry.opening.catch(() => undefined);
    if (entry.volume) await entry.volume.close();
    const trash = path.join(this.dir, "trash", `${name}-${randomUUID()}`);
    await rename(this.volumeDir(name), trash);
    await syncDir(path.join(this.dir, "volumes"));
    this.volumes.delete(name);
    this.allocatedExtents -= entry.extents;
    await rm(trash, { recursive: true, force: true });
  }

  /** Grows an open volume (opening it if needed), subject to the over-commit limit. */
  async growVolume(name: string, newSize: number): Promise<void> {
    const vol = await this.openVolume(name);
    await vol.grow(newSize);
  }

  /**
   * New independent volume with the content of `source`'s snapshot. Copies
   * only the snapshot's stored ranges (thin), re-encrypting with the clone's
   * own key if it is encrypted.
   */
  async cloneVolume(spec: { source: string; snapshot: string; name: string; encrypted?: boolean; kms?: KmsProvider }): Promise<Volume> {
    const src = await this.openVolume(spec.source);
    const view = src.openSnapshot(spec.snapshot);
    const dst = await this.createVolume({
      name: spec.name,
      size: view.size,
      encrypted: spec.encrypted ?? src.encrypted,
      ...(spec.kms ? { kms: spec.kms } : {}),
    });
    try {
      await copyDevice(view, dst);
      await dst.flush();
    } catch (err) {
      await this.deleteVolume(spec.name).catch(() => undefined);
      throw err;
    }
    return dst;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const e of this.volumes.values()) {
      if (e.opening) await e.opening.catch(() => undefined);
      if (e.volume) await e.volume.close();
      e.volume = null;
    }
    this.closed = true;
    openInProcess.delete(this.dir);
    await releaseLock(this.dir);
  }

  // ---------------------------------------------------------------- accounting

  private accountantFor(entry: VolumeEntry): CapacityAccountant {
    return {
      reserveExtents: (count) => {
        this.reserve(count);
        entry.extents += count;
      },
      releaseExtents: (count) => {
        this.allocatedExtents -= count;
        entry.extents -= count;
      },
      resizeVolume: (from, to) => {
        this.checkOvercommit(to - from);
        entry.size = to;
      },
      reportIoError: (err) => this.recordIoError(err),
    };
  }

  private reserve(count: number): void {
    const need = count * EXTENT_SIZE;
    if (this.allocatedBytes + need > this.capacityBytes) {
      throw new BlockIoError("ENOSPC", `pool is full: ${this.allocatedBytes} of ${this.capacityBytes} bytes allocated`);
    }
    // Extents are sparse, so allocated ≥ used; the filesystem guard catches
    // other tenants of the same filesystem eating our space.
    if (this.fsFree - need < this.reserveBytes) {
      this.kickStatfs();
      throw new BlockIoError("ENOSPC", "the pool's filesystem is out of space");
    }
    this.allocatedExtents += count;
    this.fsFree -= need;
    if (Date.now() - this.lastStatfs > 1000) this.kickStatfs();
  }

  private checkOvercommit(extraBytes: number): void {
    const limit = this.capacityBytes * this.overcommitRatio;
    if (this.provisionedBytes + extraBytes > limit) {
      throw new EngineError(
        "OVERCOMMIT",
        `provisioning ${extraBytes} more bytes would exceed the pool's limit of ${Math.floor(limit)} (capacity × ${this.overcommitRatio}); ${this.provisionedBytes} provisioned`,
      );
    }
  }

  private recount(): void {
    let total = 0;
    for (const e of this.volumes.values()) total += e.extents;
    this.allocatedExtents = total;
  }

  private kickStatfs(): void {
    this.statfsRefresh ??= this.refreshStatfs()
      .catch((err: unknown) => this.recordIoError(err))
      .finally(() => {
        this.statfsRefresh = null;
      });
  }

  private async refreshStatfs(): Promise<void> {
    const s = await statfs(this.dir);
    this.fsCapacity = s.blocks * s.bsize;
    this.fsFree = s.bavail * s.bsize;
    this.lastStatfs = Date.now();
  }

  private recordIoError(err: unknown): void {
    if (errnoCode(err) === "ENOSPC") return; // full, not failing: health reports it from the counters
    this.ioErrors++;
    this.lastIoError = err instanceof Error ? err.message : String(err);
  }

  private entry(name: string): VolumeEntry {
    const e = this.volumes.get(name);
    if (!e) throw new EngineError("NOT_FOUND", `volume ${name} not found`);
    return e;
  }

  private volumeDir(name: string): string {
    return path.join(this.dir, "volumes", name);
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineError("CLOSED", "pool is closed");
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch {
    return false;
  }
}

/** One process per pool: a pid file, taken over when its owner is dead (e.g. after kill -9). */
async function takeLock(dir: string): Promise<void> {
  const file = path.join(dir, LOCK_FILE);
  try {
    const pid = Number((await readFile(file, "utf8")).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new EngineError("BUSY", `pool ${dir} is in use by process ${pid}`);
    }
  } catch (err) {
    if (err instanceof EngineError) throw err;
  }
  await writeFile(file, `${process.pid}\n`, { mode: 0o600 });
}

async function releaseLock(dir: string): Promise<void> {
  await rm(path.join(dir, LOCK_FILE), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
}
