import { isAllZero } from "../util/zeroes";
import { BlockIoError, type BlockDevice } from "../block-device";
import { RangeLock } from "../util/range-lock";
import { DirtyMap } from "./dirty-map";
import type { ReplicaLink } from "./links";
import type { Membership } from "./membership";
import { payloadCrc } from "./protocol";
import { FencedError, ReplicaIoError, ReplicaUnavailableError } from "./replica-client";

export type ReplicaMode = "in-sync" | "catching-up" | "out";

interface ReplicaSlot {
  id: string;
  link: ReplicaLink | null;
  mode: ReplicaMode;
  /** Regions the replica lacks; null while in sync. */
  dirty: DirtyMap | null;
  /** Shared by concurrent failures of one replica, so it leaves the in-sync set once. */
  leaving: Promise<void> | null;
  /**
   * Dropped locally but not (yet) confirmed out of the in-sync set in the
   * consensus store: until it is, no write may be acknowledged without it.
   */
  unconfirmed?: boolean;
  catchUp: CatchUpProgress | null;
}

export interface ReplicaStatus {
  id: string;
  mode: ReplicaMode;
  dirtyBytes: number;
  catchUp: CatchUpProgress | null;
}

/** `resync`: only what a returning replica missed; `rebuild`: every allocated region, onto an empty replica. */
export type CatchUpKind = "resync" | "rebuild";

export interface CatchUpProgress {
  kind: CatchUpKind;
  totalBytes: number;
  copiedBytes: number;
}

/**
 * The target's side of one replica's catch-up: every step that reads or
 * changes the replica's slot, each under the target's range lock where it
 * must be. The copy loop that drives it is `catchUp` in rebuild/rebuild.ts.
 */
export interface CatchUpSession {
  readonly replicaId: string;
  /** What the replica still lacks; writes that miss it while it catches up are marked here too. */
  readonly dirty: DirtyMap;
  readonly progress: Readonly<CatchUpProgress>;
  /** Tells the replica which snapshots the record says it holds; it drops the others. */
  keepSnapshots(): Promise<void>;
  /** Throws if the replica failed (a mirrored write to it did) since the catch-up began. */
  checkCatchingUp(): void;
  /** Copies [offset, offset + length) from an in-sync replica to this one, under the range lock. */
  copy(offset: number, length: number): Promise<void>;
  /** With every write drained: if nothing is left to copy, flushes the replica and admits it to the in-sync set. */
  joinIfCopied(): Promise<boolean>;
  /** The catch-up failed: the replica goes out again, and `unflushed` copies count as not made. */
  abandon(unflushed: ReadonlyArray<{ offset: number; length: number }>): void;
}

export interface VolumeTargetOptions {
  volumeId: string;
  size: number;
  blockSize?: number;
  membership: Membership;
  /** Replicas in the in-sync set when the target took over, with their links. */
  inSync: ReplicaLink[];
  /** Replicas of the volume not in the in-sync set (they need a resync or rebuild). */
  outOfSync?: string[];
  /** The replica on this node, preferred for reads. */
  localReplicaId?: string;
  onFenced?: (err: Error) => void;
  /** Snapshots the volume record lists when the target takes over, with the replicas holding a copy. */
  snapshots?: ReadonlyArray<{ name: string; replicaIds: readonly string[] }>;
  /**
   * Flush the replicas this long after a write (ms; default 1000, 0 = never).
   * Replicas buffer writes until a flush, so one that crashes loses what it
   * acknowledged since its last flush; bounding that window bounds what a
   * returning replica must be resent beyond what it missed while away.
   */
  autoFlushMs?: number;
}

/** The volume already has a snapshot of that name (the record lists it). */
export class SnapshotExistsError extends Error {
  constructor(
    readonly volumeId: string,
    readonly snapshot: string,
  ) {
    super(`volume ${volumeId} already has a snapshot ${snapshot}`);
    this.name = "SnapshotExistsError";
  }
}

/**
 * A volume held still for a group snapshot (`VolumeTarget.quiesce`): no write
 * is in flight and new ones wait until `resume`.
 */
export interface QuiescedTarget {
  /** Takes snapshot `name` at the quiesced point, as `VolumeTarget.snapshot` does. At most one at a time. */
  snapshot(name: string, record: (holders: string[]) => Promise<void>): Promise<string[]>;
  /**
   * Takes the copies of snapshot `name` at the quiesced point, lets writes through at once, and
   * only then runs `record`: the consensus store write, the slowest step, is no longer part of
   * the pause. Snapshot and growth operations still wait until `record` is done, and a failed
   * `record` drops the copies as `snapshot` does. Resolves to the holders, how long writes were
   * held (ms; `resume` afterwards answers the same figure) and when they were let through (ms
   * since the epoch, to the microsecond: a group's span is measured across its targets).
   */
  snapshotThenResume(name: string, record: (holders: string[]) => Promise<void>): Promise<{ holders: string[]; pauseMs: number; resumedAt: number }>;
  /**
   * Lets writes through again, once a snapshot under way has finished. Resolves to how long
   * writes were held (ms, from the moment the lock was asked for); again, to the same figure.
   */
  resume(): Promise<number>;
}

function isReplicaFailure(err: unknown): boolean {
  return err instanceof ReplicaUnavailableError || err instanceof ReplicaIoError || err instanceof BlockIoError;
}

/**
 * The volume's frontend-facing device: fans every write out to all in-sync
 * replicas and acknowledges only when each has it, or has been removed from
 * the in-sync set in the consensus store first. Overlapping writes are
 * serialised here so every replica applies them in the same order.
 */
export class VolumeTarget implements BlockDevice {
  private currentSize: number;
  readonly blockSize: number;
  readonly readOnly = false;
  private readonly lock = new RangeLock();
  private readonly slots = new Map<string, ReplicaSlot>();
  private fenced: Error | null = null;
  /** Bytes shipped to catching-up replicas, for the delta-resync ratio. */
  resyncBytesSent = 0;
  /** Regions written since the last flush began; a replica that fails may have lost them. */
  private unflushed: DirtyMap;
  /** Regions whose flush is in progress (same reason). */
  private readonly flushing = new Set<DirtyMap>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** Snapshots in the volume record (as this target changed it) → replicas holding a copy. */
  private readonly snapshotHolders: Map<string, Set<string>>;
  /** Snapshot and growth operations run one at a time, in order. */
  private snapshotChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: VolumeTargetOptions) {
    this.currentSize = opts.size;
    this.snapshotHolders = new Map((opts.snapshots ?? []).map((x) => [x.name, new Set(x.replicaIds)]));
    this.blockSize = opts.blockSize ?? 4096;
    this.unflushed = new DirtyMap(this.size);
    for (const link of opts.inSync) {
      this.slots.set(link.replicaId, { id: link.replicaId, link, mode: "in-sync", dirty: null, leaving: null, catchUp: null });
    }
    for (const id of opts.outOfSync ?? []) {
      // Nothing is known of what it missed before this target: it needs a full copy.
      const dirty = new DirtyMap(this.size);
      dirty.markAll();
      this.slots.set(id, { id, link: null, mode: "out", dirty, leaving: null, catchUp: null });
    }
    if (opts.inSync.length === 0) throw new Error(`volume ${opts.volumeId}: a target needs at least one in-sync replica`);
  }

  /** The volume's size now; it only grows (see `grow`). */
  get size(): number {
    return this.currentSize;
  }

  get isFenced(): boolean {
    return this.fenced !== null;
  }

  status(): ReplicaStatus[] {
    return [...this.slots.values()].map((s) => ({
      id: s.id,
      mode: s.mode,
      dirtyBytes: s.dirty?.dirtyBytes ?? 0,
      catchUp: s.catchUp ? { ...s.catchUp } : null,
    }));
  }

  inSyncIds(): string[] {
    return [...this.slots.values()].filter((s) => s.mode === "in-sync").map((s) => s.id);
  }

  // ------------------------------------------------------------- I/O ----

  async read(offset: number, target: Buffer): Promise<void> {
    this.check(offset, target.length);
    const h = await this.lock.acquire(offset, offset + target.length, false);
    let bad: ReplicaSlot[];
    try {
      bad = await this.readInto(offset, target);
    } finally {
      this.lock.release(h);
    }
    // A replica that failed a read another one served is repaired with the good
    // data (a checksum error) or dropped from the in-sync set (unreachable).
    if (bad.length) await this.repair(offset, Buffer.from(target), bad);
  }

  async write(offset: number, data: Buffer, opts?: { fua?: boolean; crc?: number }): Promise<void> {
    this.check(offset, data.length);
    const fua = opts?.fua ?? false;
    // One CRC for every replica: the payload CRC on the wire, and the block checksum a replica
    // stores. Computed here only when several replicas share it: a single one computes what it
    // needs itself (a remote link its payload CRC, a local replica its per-block checksums, which
    // for a multi-block write are not this CRC at all), so a single-copy volume's 4 MiB writes
    // are not checksummed twice.
    const crc = opts?.crc ?? (this.slots.size > 1 ? payloadCrc(data) : undefined);
    await this.mutate(offset, data.length, (l) => l.write(offset, data, fua, crc));
  }

  async writeZeroes(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    this.check(offset, length);
    await this.mutate(offset, length, (l) => l.writeZeroes(offset, length, opts?.fua ?? false));
  }

  async trim(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    this.check(offset, length);
    await this.mutate(offset, length, (l) => l.trim(offset, length, opts?.fua ?? false));
  }

  async flush(): Promise<void> {
    this.checkFenced();
    const pending = this.unflushed;
    this.unflushed = new DirtyMap(this.size);
    this.flushing.add(pending);
    try {
      await this.fanOut(0, 0, (l) => l.flush());
    } catch (err) {
      // Not durable everywhere: keep it in the window a failing replica must be resent.
      this.unflushed.merge(pending);
      throw err;
    } finally {
      this.flushing.delete(pending);
    }
  }

  /** Marks what a failed replica may have lost besides what it missed: everything not yet flushed. */
  private markUnflushed(map: DirtyMap): void {
    map.merge(this.unflushed);
    for (const m of this.flushing) map.merge(m);
  }

  private noteWrite(offset: number, length: number): void {
    this.unflushed.mark(offset, length);
    const ms = this.opts.autoFlushMs ?? 1000;
    if (ms > 0 && !this.flushTimer && !this.fenced) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flush().catch(() => undefined);
      }, ms);
      this.flushTimer.unref();
    }
  }

  // ----------------------------------------------------- snapshots ----

  snapshots(): string[] {
    return [...this.snapshotHolders.keys()];
  }

  /**
   * The snapshots the record says `replicaId` holds. Any other copy it has is
   * not one of them (deleted since, or from an attempt never recorded), even
   * under a recorded name.
   */
  private heldBy(replicaId: string): string[] {
    return [...this.snapshotHolders].filter(([, ids]) => ids.has(replicaId)).map(([name]) => name);
  }

  /**
   * Takes snapshot `name` on every in-sync replica at one point of the
   * volume's history: under an exclusive lock over the whole volume no write
   * is in flight, so every in-sync replica holds the same content. A replica
   * that fails leaves the in-sync set before `record` runs, so the holders
   * passed to it are exactly the replicas that have the copy. `record` (the
   * consensus store entry) runs under the same lock; only once it succeeds
   * is the snapshot taken. Replicas catching up or away get no copy.
   */
  snapshot(name: string, record: (holders: string[]) => Promise<void>): Promise<string[]> {
    return this.serialiseControl(async () => {
      this.checkFenced();
      if (this.snapshotHolders.has(name)) throw new SnapshotExistsError(this.opts.volumeId, name);
      const all = await this.lock.acquire(0, Number.POSITIVE_INFINITY, true);
      try {
        return await this.snapshotUnderLock(name, record);
      } finally {
        this.lock.release(all);
      }
    });
  }

  /** The body of `snapshot`, run with the exclusive lock over the whole volume held (by it, or by `quiesce`). */
  private async snapshotUnderLock(name: string, record: (holders: string[]) => Promise<void>): Promise<string[]> {
    const holders = await this.takeSnapshotCopies(name);
    await this.recordSnapshotCopies(name, holders, record);
    return holders;
  }

  /** The copies of snapshot `name` on every in-sync replica; run with the exclusive lock over the whole volume held. */
  private async takeSnapshotCopies(name: string): Promise<string[]> {
    this.checkFenced();
    if (this.snapshotHolders.has(name)) throw new SnapshotExistsError(this.opts.volumeId, name);
    await this.flush();
    const holders = await this.onInSync(async (l) => {
      // A copy of that name the record does not list is left from an attempt never acknowledged
      // (its content is from another point): replace it.
      await l.deleteSnapshot(name);
      await l.snapshot(name);
    });
    if (holders.length === 0) throw new BlockIoError("EIO", `volume ${this.opts.volumeId}: no in-sync replica took snapshot ${name}`);
    return holders;
  }

  /**
   * Records copies already taken (`record`, the consensus store entry); only once that succeeds
   * is the snapshot known here. Needs no lock over the volume (the copies are fixed), only the
   * control chain, so no other snapshot or growth interleaves.
   */
  private async recordSnapshotCopies(name: string, holders: string[], record: (holders: string[]) => Promise<void>): Promise<void> {
    try {
      await record(holders);
    } catch (err) {
      // Not taken: drop the copies so they cannot be mistaken for it later (a reconnect drops them too).
      if (!(err instanceof SnapshotExistsError)) {
        await Promise.allSettled(this.linked().flatMap((s) => (s.link ? [s.link.deleteSnapshot(name)] : [])));
      }
      throw this.maybeFence(err);
    }
    this.snapshotHolders.set(name, new Set(holders));
  }

  /**
   * Deletes snapshot `name`: first from the record (`unrecord`), then on every
   * replica connected now. An in-sync replica that fails to delete it leaves
   * the in-sync set (it is told again when it reconnects); replicas away now
   * drop it when they reconnect (a catch-up sends the record's list).
   */
  deleteSnapshot(name: string, unrecord: () => Promise<void>): Promise<void> {
    return this.serialiseControl(async () => {
      this.checkFenced();
      try {
        await unrecord();
      } catch (err) {
        throw this.maybeFence(err);
      }
      this.snapshotHolders.delete(name);
      await this.onInSync((l) => l.deleteSnapshot(name), true);
    });
  }

  /**
   * Tells every connected replica which snapshots the record says it holds;
   * each drops the others (left from an attempt never acknowledged, or
   * deleted while the replica was not connected). Run once when the target
   * takes over.
   */
  async reconcileSnapshots(): Promise<void> {
    await this.serialiseControl(async () => {
      await this.onInSync((l) => l.keepSnapshots(this.heldBy(l.replicaId)), true);
    });
  }

  // ----------------------------------------------------- growth ----

  /**
   * Grows the volume to `newSize`. Under an exclusive lock over the whole
   * volume (no request in flight, none straddling the old end), every linked
   * replica — in sync or catching up — grows first; one that fails leaves the
   * in-sync set (it grows when it next connects: a HELLO with the bigger size
   * grows it). Only then does this target accept requests up to the new end.
   * Replicas away now are grown by their node from the volume record, or by
   * that HELLO. A size not above the current one is a no-op.
   */
  grow(newSize: number): Promise<void> {
    return this.serialiseControl(async () => {
      this.checkFenced();
      if (newSize <= this.currentSize) return;
      const all = await this.lock.acquire(0, Number.POSITIVE_INFINITY, true);
      try {
        this.checkFenced();
        const grown = await this.onInSync((l) => l.grow(newSize), true);
        if (grown.length === 0) throw new BlockIoError("EIO", `volume ${this.opts.volumeId}: no in-sync replica grew to ${newSize} bytes`);
        // Blocks past the old end were never written anywhere: no replica lacks them.
        this.currentSize = newSize;
        this.unflushed.grow(newSize);
        for (const m of this.flushing) m.grow(newSize);
        for (const s of this.slots.values()) s.dirty?.grow(newSize);
      } finally {
        this.lock.release(all);
      }
    });
  }

  // ----------------------------------------------- group quiesce ----

  /**
   * Holds the volume still for a group snapshot across volumes (cluster/group-snapshot*.ts):
   * takes the exclusive lock over the whole volume as `snapshot` does, so writes in flight
   * finish and new ones queue behind it (none is refused or lost), then keeps it until
   * `resume`. It holds the control chain too, so no snapshot or growth interleaves. The
   * caller bounds the pause: every path must end in `resume`.
   */
  quiesce(): Promise<QuiescedTarget> {
    return new Promise<QuiescedTarget>((resolve, reject) => {
      this.serialiseControl(async () => {
        this.checkFenced();
        const asked = performance.now();
        const all = await this.lock.acquire(0, Number.POSITIVE_INFINITY, true);
        if (this.fenced) {
          this.lock.release(all);
          this.checkFenced();
        }
        let resumed: () => void = () => undefined;
        const held = new Promise<void>((r) => (resumed = r));
        let snapshotting: Promise<unknown> = Promise.resolve();
        let resuming = false;
        let pauseMs = 0;
        let resumedAt = 0;
        const release = (): void => {
          const now = performance.now();
          pauseMs = now - asked;
          resumedAt = performance.timeOrigin + now;
          this.lock.release(all);
        };
        resolve({
          snapshot: (name, record) => {
            if (resuming) return Promise.reject(new Error(`volume ${this.opts.volumeId} was resumed before snapshot ${name}`));
            const run = snapshotting.then(() => this.snapshotUnderLock(name, record));
            snapshotting = run.catch(() => undefined);
            return run;
          },
          snapshotThenResume: (name, record) => {
            if (resuming) return Promise.reject(new Error(`volume ${this.opts.volumeId} was resumed before snapshot ${name}`));
            resuming = true;
            const run = snapshotting.then(async () => {
              let holders: string[];
              try {
                holders = await this.takeSnapshotCopies(name);
              } finally {
                // The copies are fixed (or not taken): writes go on while the record is written.
                release();
              }
              try {
                await this.recordSnapshotCopies(name, holders, record);
              } finally {
                resumed();
              }
              return { holders, pauseMs, resumedAt };
            });
            // A failed copy resumes too (`release` ran); `held` must settle for the control chain.
            run.catch(() => resumed());
            snapshotting = run.catch(() => undefined);
            return run;
          },
          resume: async () => {
            if (!resuming) {
              resuming = true;
              await snapshotting;
              release();
              resumed();
            }
            await held;
            return pauseMs;
          },
        });
        await held;
      }).catch(reject);
    });
  }

  /** Snapshot and growth operations run one at a time, in order. */
  private serialiseControl<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.snapshotChain.then(fn);
    this.snapshotChain = run.catch(() => undefined);
    return run;
  }

  private linked(): ReplicaSlot[] {
    return [...this.slots.values()].filter((s) => s.link !== null && s.mode !== "out");
  }

  /**
   * Runs `op` on every in-sync replica (and catching-up ones with
   * `andCatchingUp`); returns the in-sync ones that succeeded. One that failed
   * has left the in-sync set in the consensus store when this resolves; a
   * catching-up one goes out and catches up again later.
   */
  private async onInSync(op: (l: ReplicaLink) => Promise<void>, andCatchingUp = false): Promise<string[]> {
    const live = this.linked().filter((s) => s.mode === "in-sync" || andCatchingUp);
    const results = await Promise.allSettled(live.map((s) => (s.link ? op(s.link) : Promise.reject(new ReplicaUnavailableError(s.id, "no link")))));
    const ok: string[] = [];
    const leaving: Promise<void>[] = [];
    for (let i = 0; i < live.length; i++) {
      const s = live[i];
      const r = results[i];
      if (!s || !r) continue;
      if (r.status === "fulfilled") {
        if (s.mode === "in-sync") ok.push(s.id);
        continue;
      }
      if (r.reason instanceof FencedError) throw this.fence(r.reason);
      // Whatever the cause, the replica does not match the record: it must not stay in sync.
      if (s.mode === "catching-up") {
        s.mode = "out";
        if (s.dirty) this.markUnflushed(s.dirty);
      } else if (s.mode === "in-sync") leaving.push(this.leave(s));
    }
    // As for writes: one dropped earlier whose departure the store has not confirmed still counts as in sync there.
    for (const s of this.slots.values()) if (s.unconfirmed && s.mode === "out") leaving.push(this.leave(s));
    await Promise.all(leaving);
    return ok;
  }

  // ----------------------------------------------------- catch up ----

  /**
   * Starts bringing a replica back into the in-sync set: the target's side of
   * a catch-up, whose copy loop is `catchUp` in rebuild/rebuild.ts. `resync`
   * sends only the regions written while it was away; `rebuild` (a new or
   * wiped replica) copies every allocated region of `source`. New writes reach
   * the replica from now on, so the copy converges.
   */
  async beginCatchUp(replicaId: string, link: ReplicaLink, kind: CatchUpKind, source?: BlockDevice): Promise<CatchUpSession> {
    this.checkFenced();
    let slot = this.slots.get(replicaId);
    if (!slot) {
      slot = { id: replicaId, link: null, mode: "out", dirty: new DirtyMap(this.size), leaving: null, catchUp: null };
      this.slots.set(replicaId, slot);
    }
    if (slot.mode !== "out") throw new Error(`replica ${replicaId} is ${slot.mode}`);
    if (slot.unconfirmed) await this.leave(slot);
    let map: DirtyMap;
    if (kind === "rebuild") {
      // A rebuild fills a new, empty replica: only allocated regions need copying
      // (the rest reads as zeros there too).
      map = new DirtyMap(this.size);
      // Installed before the (async) scan so writes landing meanwhile are marked too.
      slot.dirty = map;
      if (source?.allocatedRanges) {
        for (const r of await source.allocatedRanges(0, this.size)) map.mark(r.offset, r.length);
      } else map.markAll();
    } else map = slot.dirty ?? new DirtyMap(this.size);
    slot.dirty = map;
    slot.link = link;
    slot.mode = "catching-up";
    const progress = { kind, totalBytes: map.dirtyBytes, copiedBytes: 0 };
    slot.catchUp = progress;
    // Read in the same turn as the link is installed: a snapshot deleted from now on is
    // deleted through this link too, one deleted before is absent from this list.
    const snapshots = this.heldBy(replicaId);
    await this.opts.membership.setState(replicaId, kind === "resync" ? "resyncing" : "rebuilding").catch((err: unknown) => {
      throw this.maybeFence(err);
    });
    const caughtUp = slot;
    return {
      replicaId,
      dirty: map,
      progress,
      keepSnapshots: () =>
        // A returning replica drops the snapshots deleted while it was away.
        link.keepSnapshots(snapshots).catch((err: unknown) => {
          throw err instanceof FencedError ? this.fence(err) : err;
        }),
      checkCatchingUp: () => {
        if (caughtUp.mode !== "catching-up") throw new ReplicaUnavailableError(replicaId, "failed during catch-up");
      },
      copy: async (offset, length) => {
        const h = await this.lock.acquire(offset, offset + length, true);
        try {
          // Under the lock nothing else writes here; copy the whole run even if
          // a mirrored write cleaned part of it meanwhile.
          map.clear(offset, length);
          const data = await this.readFromInSync(offset, length);
          try {
            if (isAllZero(data)) await link.writeZeroes(offset, length, false);
            else await link.write(offset, data, false);
          } catch (err) {
            map.mark(offset, length);
            throw err;
          }
          this.resyncBytesSent += length;
          progress.copiedBytes += length;
        } finally {
          this.lock.release(h);
        }
      },
      joinIfCopied: async () => {
        // Drain every write, then join the in-sync set only if nothing is left to copy.
        const all = await this.lock.acquire(0, Number.POSITIVE_INFINITY, true);
        try {
          if (map.dirtyBlocks > 0) return false;
          await link.flush();
          await this.opts.membership.markInSync(replicaId).catch((err: unknown) => {
            throw this.maybeFence(err);
          });
          caughtUp.mode = "in-sync";
          caughtUp.dirty = null;
          caughtUp.catchUp = null;
          return true;
        } finally {
          this.lock.release(all);
        }
      },
      abandon: (unflushed) => {
        if (caughtUp.mode === "catching-up") caughtUp.mode = "out";
        for (const r of unflushed) map.mark(r.offset, r.length);
        this.markUnflushed(map);
        caughtUp.catchUp = null;
      },
    };
  }

  /** Forgets a replica entirely (moved away or removed from the volume). */
  async removeReplica(replicaId: string): Promise<void> {
    const slot = this.slots.get(replicaId);
    if (!slot) return;
    if (slot.mode === "in-sync") {
      if (this.inSyncIds().length === 1) throw new Error(`replica ${replicaId} is the last in-sync copy`);
      await this.leave(slot);
    }
    slot.link?.close();
    this.slots.delete(replicaId);
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const s of this.slots.values()) s.link?.close();
  }

  // ----------------------------------------------------- internals ----

  private async mutate(offset: number, length: number, op: (l: ReplicaLink) => Promise<void>): Promise<void> {
    this.checkFenced();
    const h = await this.lock.acquire(offset, offset + length, true);
    try {
      this.noteWrite(offset, length);
      await this.fanOut(offset, length, op);
    } finally {
      this.lock.release(h);
    }
  }

  private async fanOut(offset: number, length: number, op: (l: ReplicaLink) => Promise<void>): Promise<void> {
    const live: ReplicaSlot[] = [];
    for (const s of this.slots.values()) {
      if (s.mode === "out") s.dirty?.mark(offset, length);
      else if (s.link) live.push(s);
    }
    const results = await Promise.allSettled(live.map((s) => (s.link ? op(s.link) : Promise.resolve())));
    let acked = 0;
    const leaving: Promise<void>[] = [];
    // A replica whose departure the store has not confirmed still counts as in sync there.
    for (const s of this.slots.values()) if (s.unconfirmed && s.mode === "out") leaving.push(this.leave(s));
    for (let i = 0; i < live.length; i++) {
      const s = live[i];
      const r = results[i];
      if (!s || !r) continue;
      if (r.status === "fulfilled") {
        if (s.mode === "in-sync") acked++;
        continue;
      }
      if (r.reason instanceof FencedError) throw this.fence(r.reason);
      if (!isReplicaFailure(r.reason)) throw r.reason;
      if (s.mode === "catching-up") {
        // Not yet in sync: remember what it missed and let the catch-up loop notice.
        s.mode = "out";
        s.dirty?.mark(offset, length);
        if (s.dirty) this.markUnflushed(s.dirty);
        continue;
      }
      if (s.mode === "out") {
        s.dirty?.mark(offset, length);
        continue;
      }
      // leave() installs the dirty map synchronously; mark this write even if the store change fails.
      leaving.push(this.leave(s));
      s.dirty?.mark(offset, length);
    }
    // The write is acknowledged only after every replica that lacks it has left the in-sync set.
    await Promise.all(leaving);
    if (acked === 0 && this.inSyncIds().length === 0) {
      throw new BlockIoError("EIO", `volume ${this.opts.volumeId}: no in-sync replica`);
    }
  }

  private leave(s: ReplicaSlot): Promise<void> {
    if (s.leaving) return s.leaving;
    const remaining = [...this.slots.values()].filter((x) => x.mode === "in-sync" && x !== s);
    s.leaving = (async () => {
      if (!s.unconfirmed) {
        if (remaining.length === 0) {
          // Never drop the last copy from the record: fail the I/O instead, the replica may come back.
          throw new BlockIoError("EIO", `volume ${this.opts.volumeId}: the last in-sync replica ${s.id} failed`);
        }
        // Mark dirty from now on, before the record changes, so no write is missed in between;
        // and what it acknowledged but may not have made durable yet.
        s.dirty = new DirtyMap(this.size);
        this.markUnflushed(s.dirty);
        s.mode = "out";
        s.unconfirmed = true;
        s.link?.close();
        s.link = null;
      }
      try {
        await this.opts.membership.markOutOfSync(s.id);
        s.unconfirmed = false;
      } catch (err) {
        // Cut off from the store (or superseded): every later write retries this first and fails
        // with it, so nothing is acknowledged while the record still lists the replica in sync.
        throw this.maybeFence(err);
      }
    })().finally(() => {
      s.leaving = null;
    });
    return s.leaving;
  }

  private readOrder(): ReplicaSlot[] {
    const inSync = [...this.slots.values()].filter((s) => s.mode === "in-sync" && s.link);
    const local = this.opts.localReplicaId;
    return inSync.sort((a, b) => (a.id === local ? -1 : b.id === local ? 1 : 0));
  }

  private async readFromInSync(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(offset, buf);
    return buf;
  }

  /**
   * Fills `target` from the first in-sync replica that can serve it, the local
   * one first (straight into `target`, no copy). Returns the replicas that
   * failed before one succeeded.
   */
  private async readInto(offset: number, target: Buffer): Promise<ReplicaSlot[]> {
    const bad: ReplicaSlot[] = [];
    for (const s of this.readOrder()) {
      if (!s.link) continue;
      try {
        await s.link.read(offset, target);
        return bad;
      } catch (err) {
        if (err instanceof FencedError) throw this.fence(err);
        if (!isReplicaFailure(err)) throw err;
        bad.push(s);
      }
    }
    throw new BlockIoError("EIO", `volume ${this.opts.volumeId}: no in-sync replica could serve the read`);
  }

  private async repair(offset: number, good: Buffer, bad: ReplicaSlot[]): Promise<void> {
    const h = await this.lock.acquire(offset, offset + good.length, true);
    try {
      for (const s of bad) {
        if (s.mode !== "in-sync" || !s.link) continue;
        try {
          await s.link.write(offset, good, false);
        } catch (err) {
          if (err instanceof FencedError) throw this.fence(err);
          await this.leave(s).catch(() => undefined);
        }
      }
    } finally {
      this.lock.release(h);
    }
  }

  private maybeFence(err: unknown): Error {
    if (err instanceof Error && (err.name === "EpochSupersededError" || err instanceof FencedError)) return this.fence(err);
    return err instanceof Error ? err : new Error(String(err));
  }

  private fence(err: Error): BlockIoError {
    if (!this.fenced) {
      this.fenced = err;
      this.opts.onFenced?.(err);
    }
    return new BlockIoError("EIO", `volume ${this.opts.volumeId}: this target was superseded (${err.message})`);
  }

  private checkFenced(): void {
    if (this.fenced) throw new BlockIoError("EIO", `volume ${this.opts.volumeId}: this target was superseded`);
  }

  private check(offset: number, length: number): void {
    this.checkFenced();
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new BlockIoError("EINVAL", `request [${offset}, +${length}) outside a ${this.size}-byte volume`);
    }
  }
}
