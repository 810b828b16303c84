/**
 * The durability pipeline: group-committed flush, the activity log (hot and
 * cold slots), checkpoints, and slot allocation with its one durability
 * rule (a freed slot is reused only once its `free` record is durable).
 *
 * Separate from the read/write paths because it decides what a crash may
 * lose, and its ordering (data, then checksum pages, then the log) is the
 * volume's durability contract: it should be read, and changed, on its own.
 * The write path calls into it only to allocate, free or heat a slot, and for FUA.
 */
import { EngineError } from "../errors";
import { writeCheckpoint } from "./checkpoint";
import type { Slot, Version } from "./extent-map";
import { SLOTS_PER_SEGMENT } from "./geometry";
import { META_PAGE_BYTES, encodeMetaPage, metaPagePosition } from "./slot-meta";
import type { VolumeCore } from "./volume-core";

/** `Volume.flush` for parts that hold only the core (FUA on TRIM and WRITE_ZEROES): refused on a closed or failed volume, else {@link flushNow}. */
export async function requestFlush(core: VolumeCore): Promise<void> {
  core.assertUsable();
  return flushNow(core);
}

/**
 * Group-committed flush. Covers every write that completed before the call:
 * 1. fdatasync the data segments written since the last flush;
 * 2. write the checksum/bitmap pages captured at flush start (after step 1,
 *    so a durable page never describes data that isn't durable);
 * 3. fdatasync the page file and commit the metadata log.
 */
export function flushNow(core: VolumeCore): Promise<void> {
  if (core.flushQueued) return core.flushQueued;
  if (core.flushRunning) {
    const queued = core.flushRunning
      .catch(() => undefined)
      .then(() => {
        core.flushQueued = null;
        return startFlush(core);
      });
    core.flushQueued = queued;
    return queued;
  }
  return startFlush(core);
}

function startFlush(core: VolumeCore): Promise<void> {
  const run = doFlush(core).finally(() => {
    if (core.flushRunning === run) core.flushRunning = null;
  });
  core.flushRunning = run;
  return run;
}

async function doFlush(core: VolumeCore): Promise<void> {
  const epoch = core.epoch++;
  const segs = [...core.dirtySegments];
  core.dirtySegments.clear();
  const pages = capturePages(core);
  try {
    if (segs.length > 0) {
      await Promise.all(segs.map(async (i) => (await core.segment(i * SLOTS_PER_SEGMENT)).datasync()));
    }
    if (pages.positions.length > 0) {
      await Promise.all(pages.positions.map((pos, i) => core.metaFh.write(pages.buf, i * META_PAGE_BYTES, META_PAGE_BYTES, pos)));
      await core.metaFh.datasync();
    }
    await core.wal.sync();
  } catch (err) {
    // We can no longer tell what is durable: stop accepting I/O (the
    // Linux fsync-error lesson: retrying a failed fsync can lie).
    throw core.fail(err);
  }
  core.durableEpoch = epoch;
  if (core.pendingFree.length > 0) releasePendingFree(core);
  retireHot(core, false);
  if (core.wal.size > core.checkpointBytes) await checkpoint(core);
}

function capturePages(core: VolumeCore): { buf: Buffer; positions: number[] } {
  const positions: number[] = [];
  const buf = Buffer.allocUnsafe(core.dirtyMeta.size * META_PAGE_BYTES);
  let i = 0;
  for (const slot of core.dirtyMeta) {
    if (core.map.slots.get(slot.id) !== slot) continue;
    slot.pageGen++;
    encodeMetaPage(
      { slot: slot.id, owner: slot.version, extent: slot.extent, incarnation: slot.incarnation, generation: slot.pageGen, crc: slot.crc, present: slot.present, zero: slot.zero },
      buf,
      i * META_PAGE_BYTES,
    );
    positions.push(metaPagePosition(slot.id, slot.pageGen & 1));
    i++;
  }
  core.dirtyMeta.clear();
  return { buf, positions };
}

/**
 * Activity log: before the first write into a cold slot, record it as hot
 * durably, so crash recovery knows to re-verify its checksums. Amortized: a
 * slot stays hot across many flushes until evicted.
 */
export function makeHot(core: VolumeCore, slot: Slot): Promise<void> {
  if (slot.hotWait) return slot.hotWait;
  if (slot.hot) return Promise.resolve();
  core.logApply({ type: "hot", slots: [slot.id] });
  const wait = core.wal.sync().finally(() => {
    if (slot.hotWait === wait) slot.hotWait = null;
  });
  slot.hotWait = wait;
  return wait.catch((err: unknown) => {
    throw core.fail(err);
  });
}

/**
 * Moves clean slots out of the activity log once it exceeds its size (or
 * all of them when closing). Clean = nothing changed since the last
 * completed flush and nothing in flight. The "cold" record needn't be
 * durable at once: losing it only costs a spare re-verify after a crash.
 */
export function retireHot(core: VolumeCore, all: boolean): void {
  const limit = all ? 0 : core.alExtents;
  if (core.map.hot.size <= limit) return;
  const target = all ? 0 : Math.floor(limit * 0.75);
  const retire: number[] = [];
  let excess = core.map.hot.size - target;
  for (const slot of core.map.hot) {
    if (excess <= 0) break;
    if (slot.users === 0 && slot.hotWait === null && slot.dirtyEpoch <= core.durableEpoch && !core.dirtyMeta.has(slot)) {
      retire.push(slot.id);
      excess--;
    }
  }
  if (retire.length > 0) core.logApply({ type: "cold", slots: retire });
}

/** Writes the whole extent map as a checkpoint and drops the log records it covers. */
export async function checkpoint(core: VolumeCore): Promise<void> {
  const seq = core.wal.appendedSeq;
  await writeCheckpoint(core.dir, core.map.toCheckpoint(seq));
  await core.wal.truncateThrough(seq);
  if (core.pendingFree.length > 0) releasePendingFree(core);
}

/**
 * Caller has reserved capacity. Synchronous, so two racing writers can't both allocate.
 *
 * The new slot's page is queued for the next flush at once, whatever the
 * caller then does: a slot may be retired to cold only once a page of it is
 * durable (a cold slot without one reads as lost), and a write that fails
 * after allocating would otherwise leave it clean, pageless and retirable.
 */
export function allocSlot(core: VolumeCore, version: Version, extent: number): Slot {
  if (core.pendingFree.length > 0) releasePendingFree(core);
  const id = core.map.free.pop() ?? core.map.nextSlot;
  core.logApply({ type: "alloc", version: version.id, extent, slot: id, incarnation: core.map.nextIncarnation });
  const slot = core.map.slots.get(id);
  if (!slot) throw new EngineError("CORRUPT", "slot allocation failed");
  slot.dirtyEpoch = core.epoch;
  core.dirtyMeta.add(slot);
  return slot;
}

/** Frees a slot; its id is reused only once the release is durable (else a crash could resurrect stale ownership). */
export function freeSlot(core: VolumeCore, slot: Slot): void {
  const seq = core.logApply({ type: "free", slot: slot.id });
  core.dirtyMeta.delete(slot);
  core.pendingFree.push({ id: slot.id, seq });
  core.accountant.releaseExtents(1);
}

export function releasePendingFree(core: VolumeCore): void {
  const durable = core.wal.syncedSeq;
  const keep: Array<{ id: number; seq: number }> = [];
  for (const p of core.pendingFree) {
    if (p.seq <= durable) core.map.free.push(p.id);
    else keep.push(p);
  }
  core.pendingFree = keep;
}
