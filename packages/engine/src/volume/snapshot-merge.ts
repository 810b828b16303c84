/**
 * Snapshot merge: a deleted snapshot's extents are handed over to its single
 * child by metadata, merged into it by copying the blocks the smaller side
 * lacks, or freed when it has no child (collectGarbage).
 *
 * Apart from the read/write paths because it is background work with its own
 * ordering rules (copies durable before their sources are freed, `free`
 * before `reassign`), run after a delete or revert and at open, never on a
 * request's path; it takes the same extent locks requests take.
 */
import { clearBits, countBits, setBits, testBit } from "../util/bitmap";
import { flushNow, freeSlot, makeHot, releasePendingFree } from "./durability";
import type { Slot, Version } from "./extent-map";
import { BLOCK_SIZE, BLOCKS_PER_EXTENT } from "./geometry";
import { physicalPosition, type VolumeCore } from "./volume-core";

/**
 * Removes deleted versions that have at most one child: with none, their
 * extents are freed; with one, they are merged into the child (extents the
 * child lacks are handed over by metadata; otherwise the blocks the child
 * lacks are copied as stored — ciphertext and CRC as-is, since the XTS tweak
 * is the logical block number). A version with two children (after a revert)
 * stays hidden until one side goes. This keeps read chains as short as the
 * number of live snapshots. Serialized; I/O pauses per extent only.
 */
export function collectGarbage(core: VolumeCore): Promise<void> {
  const next = core.gcChain.catch(() => undefined).then(() => gcOnce(core));
  core.gcChain = next;
  return next;
}

async function gcOnce(core: VolumeCore): Promise<void> {
  for (;;) {
    if (core.state !== "open" && core.state !== "closing") return;
    let victim: Version | undefined;
    for (const v of core.map.versions.values()) {
      if (v !== core.map.head && v.deleted && core.map.childrenOf(v).length <= 1) {
        victim = v;
        break;
      }
    }
    if (!victim) return;
    const child = core.map.childrenOf(victim)[0];
    const merged: Slot[] = [];
    for (const [extent, slot] of [...victim.slots]) {
      const h = await core.locks.acquire(extent * BLOCKS_PER_EXTENT, (extent + 1) * BLOCKS_PER_EXTENT, true);
      try {
        if (!child) {
          freeSlot(core, slot);
        } else {
          const target = child.slots.get(extent);
          if (!target) {
            core.logApply({ type: "reassign", slot: slot.id, version: child.id });
            core.touch(slot);
          } else if (countBits(target.present) < countForward(slot, target)) {
            await absorbSlot(core, target, slot);
            // The child's blocks must be durable in the parent's slot before
            // the child's own slot goes; the extent stays locked meanwhile.
            await flushNow(core);
            // "free" before "reassign": a log cut between them leaves the
            // child without a slot, reading through to the merged parent.
            freeSlot(core, target);
            core.logApply({ type: "reassign", slot: slot.id, version: child.id });
            core.touch(slot);
          } else {
            await mergeSlot(core, slot, target);
            merged.push(slot);
          }
        }
      } finally {
        core.locks.release(h);
      }
    }
    // Copies must be durable before the source extents can be released.
    await flushNow(core);
    for (const s of merged) if (core.map.slots.get(s.id) === s) freeSlot(core, s);
    core.logApply({ type: "remove-version", version: victim.id });
    await core.wal.sync();
    if (core.pendingFree.length > 0) releasePendingFree(core);
  }
}

/** Forward merge: blocks `into` (the child's slot) lacks are copied from `from` (the deleted parent's). */
async function mergeSlot(core: VolumeCore, from: Slot, into: Slot): Promise<void> {
  for (let b = 0; b < BLOCKS_PER_EXTENT; b++) {
    if (!testBit(into.present, b) && !testBit(into.zero, b) && testBit(from.zero, b)) setBits(into.zero, b, b + 1);
  }
  await copyBlocks(core, from, into, (i) => !testBit(into.present, i) && !testBit(into.zero, i) && testBit(from.present, i));
}

/**
 * Backward merge: the child's blocks are copied over the deleted parent's
 * slot, which then becomes the child's. Cheaper when the child is sparse
 * (the usual case: a head that rewrote a few blocks since the snapshot).
 */
async function absorbSlot(core: VolumeCore, childSlot: Slot, parentSlot: Slot): Promise<void> {
  for (let b = 0; b < BLOCKS_PER_EXTENT; b++) {
    if (testBit(childSlot.zero, b)) {
      setBits(parentSlot.zero, b, b + 1);
      clearBits(parentSlot.present, b, b + 1);
    }
  }
  await copyBlocks(core, childSlot, parentSlot, (i) => testBit(childSlot.present, i));
}

/** Copies stored blocks (ciphertext and CRC as-is) from one slot of the same extent to another. */
async function copyBlocks(core: VolumeCore, from: Slot, into: Slot, pick: (block: number) => boolean): Promise<void> {
  into.users++;
  try {
    if (from.bad) into.bad = true;
    await makeHot(core, into);
    const fromFh = await core.segment(from.id);
    const intoFh = await core.segment(into.id);
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
        throw core.ioError(err);
      }
      for (let i = b; i < e; i++) into.crc[i] = from.crc[i] ?? 0;
      setBits(into.present, b, e);
      clearBits(into.zero, b, e);
      core.mergeCopiedBlocks += e - b;
      b = e;
    }
    core.touch(into);
  } finally {
    into.users--;
  }
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
