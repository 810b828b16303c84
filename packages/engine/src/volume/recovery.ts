/**
 * Opening a volume: unwrapping its data key, loading the checkpoint and
 * replaying the WAL, loading the checksum pages, and after an unclean
 * shutdown re-deriving the checksums of hot extents (the activity log's
 * side of the durability contract), then resuming interrupted merges.
 *
 * Apart from the read/write paths because it runs once per open and decides
 * what a crash left behind; read it next to durability.ts, which decides what
 * a crash may leave.
 */
import { constants as fsc } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import { XtsCipher, verifyDataKeyCheck } from "../crypto/xts";
import { XtsWorker } from "../crypto/xts-worker";
import { isEmpty, testBit } from "../util/bitmap";
import { EngineError } from "../errors";
import { readCheckpoint } from "./checkpoint";
import { checkpoint, flushNow, retireHot } from "./durability";
import { ExtentMap } from "./extent-map";
import { BLOCK_SIZE, BLOCKS_PER_EXTENT, EXTENT_SIZE } from "./geometry";
import { META_FILE, META_PAGE_BYTES, META_SLOT_BYTES, decodeMetaPage, metaPagePosition } from "./slot-meta";
import { collectGarbage } from "./snapshot-merge";
import { readSuperblock, type Superblock } from "./superblock";
import { VolumeCore, physicalPosition, unlimitedCapacity, type RecoveryReport, type VolumeOpenOptions } from "./volume-core";

export type { RecoveryReport };
import { WalLog } from "./wal";


/**
 * Opens a volume's files and brings it to a consistent state: unwraps the
 * data key, loads the checkpoint and replays the WAL, loads the checksum
 * pages, re-derives the checksums of hot extents after an unclean shutdown
 * and resumes merges of deleted snapshots.
 */
export async function openCore(dir: string, opts: VolumeOpenOptions): Promise<VolumeCore> {
  const sb = await readSuperblock(dir);
  let cipher: XtsCipher | null = null;
  let worker: XtsWorker | null = null;
  if (sb.encryption) {
    if (!opts.kms) throw new EngineError("KEY", `volume ${sb.name} is encrypted; a KMS provider is required to open it`);
    const dek = await opts.kms.unwrapKey(sb.encryption.wrappedKey, { volumeId: sb.uuid });
    if (dek.length !== 64 || !verifyDataKeyCheck(dek, sb.encryption.keyCheck)) {
      throw new EngineError("WRONG_KEY", `the key provider returned a data key that does not match volume ${sb.name}`);
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
  const core = new VolumeCore(dir, sb, map, wal, metaFh, cipher, worker, opts.accountant ?? unlimitedCapacity, opts);
  core.recovery.walBytesDiscarded = discarded;
  try {
    await loadSlotPages(core);
    await recover(core);
    if (map.versions.size > 1) await collectGarbage(core);
  } catch (err) {
    await core.closeFiles();
    throw err;
  }
  return core;
}

/** The extent map as of the checkpoint plus every newer WAL record; a torn log tail is cut off. */
export async function loadMap(dir: string, sb: Superblock): Promise<{ map: ExtentMap; wal: WalLog; discarded: number }> {
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

async function loadSlotPages(core: VolumeCore): Promise<void> {
  const ids = [...core.map.slots.keys()].sort((a, b) => a - b);
  const buf = Buffer.alloc(META_SLOT_BYTES);
  for (const id of ids) {
    const slot = core.map.slots.get(id);
    if (!slot) continue;
    buf.fill(0);
    await core.metaFh.read(buf, 0, META_SLOT_BYTES, metaPagePosition(id, 0));
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
      core.recovery.lostExtents++;
    } else {
      // Hot with no page: its alloc record reached the log but no flush
      // wrote its page before the crash (a flush that captured its pages
      // before the allocation and committed the log after it, or another
      // extent's hot record syncing the log). Nothing of it was ever
      // flushed, so it rightly reads as its parent or zeros; but recovery
      // is about to retire every hot slot to cold, and a cold slot without
      // a page would read as lost from the next open on. Write its (empty)
      // page with recovery's flush first.
      slot.dirtyEpoch = core.epoch;
      core.dirtyMeta.add(slot);
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
async function recover(core: VolumeCore): Promise<void> {
  const hot = [...core.map.hot];
  if (hot.length === 0) return;
  core.recovery.unclean = true;
  const scratch = Buffer.allocUnsafe(EXTENT_SIZE);
  for (const slot of hot) {
    if (slot.bad || isEmpty(slot.present)) continue;
    const fh = await core.segment(slot.id);
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
    core.recovery.rehashedExtents++;
    if (changed > 0) {
      core.recovery.rehashedBlocks += changed;
      core.touch(slot);
    }
  }
  await flushNow(core);
  retireHot(core, true);
  await checkpoint(core);
}
