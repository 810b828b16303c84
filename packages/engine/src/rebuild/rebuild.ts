/**
 * Rebuild and resync: how a replica that is not in sync becomes in sync again.
 *
 *  1. A replica leaves the in-sync set when it fails a write (leave before ack, in
 *     replication/target.ts). From then on the target marks every block it misses in a
 *     sparse dirty map (replication/dirty-map.ts), plus what it acknowledged but may not
 *     have flushed.
 *  2. The cluster's controller decides what happens to a replica that stays away:
 *     replacement.ts replaces one away past the replacement timeout with a new, empty
 *     replica on another node, and completes a move once its new replica is in sync.
 *  3. The target's node starts a catch-up for every replica of its volume that is not in
 *     sync and whose node is up (`CatchUpScheduler`, below): a `resync` for a replica the
 *     target tracked, sending only its dirty blocks; a `rebuild` for a replica added after
 *     the target attached, copying every allocated region of a local in-sync copy.
 *  4. The copy (`catchUp`, below) streams the dirty runs from in-sync replicas while new
 *     writes reach the replica too, each run under the target's range lock; it flushes the
 *     replica every few runs, and joins the in-sync set (a compare-and-swap in etcd) only
 *     after a final drain finds nothing left. A failure puts the replica out again with
 *     everything it may lack still marked; the scheduler retries on a later pass.
 *  5. throttle.ts limits the copy to the node's rebuild rate, so foreground I/O keeps its
 *     latency.
 */
import type { BlockDevice } from "../block-device";
import type { VolumeRecord } from "../consensus/records";
import type { Logger } from "../logger";
import type { ReplicaLink } from "../replication/links";
import type { CatchUpKind, VolumeTarget } from "../replication/target";
import { Throttle } from "./throttle";

/** Largest piece a catch-up copies under one lock: long enough to stream, short enough not to stall writers. */
const CATCH_UP_RUN = 1024 * 1024;
/** Flush the catching-up replica every this many runs, bounding what a crash there costs. */
const CATCH_UP_FLUSH_RUNS = 16;

export interface CatchUpOptions {
  kind: CatchUpKind;
  throttle?: Throttle;
  /** What a rebuild copies the allocated regions of (everything without one). */
  source?: BlockDevice;
  onProgress?: (copied: number, total: number) => void;
}

/**
 * Brings `replicaId`, reachable through `link`, back into the in-sync set of
 * `target`. Resolves once it is in sync; rejects (the replica out again, with
 * everything it may lack marked) if it fails or the target is superseded.
 */
export async function catchUp(target: VolumeTarget, replicaId: string, link: ReplicaLink, opts: CatchUpOptions): Promise<void> {
  const session = await target.beginCatchUp(replicaId, link, opts.kind, opts.source);
  const map = session.dirty;
  // Copies not yet flushed on the replica: lost if it crashes, so marked again on failure.
  let copiedSinceFlush: Array<{ offset: number; length: number }> = [];
  try {
    await session.keepSnapshots();
    for (;;) {
      let run = map.nextRun(0, CATCH_UP_RUN);
      while (run) {
        session.checkCatchingUp();
        const { offset, length } = run;
        await opts.throttle?.take(length);
        await session.copy(offset, length);
        copiedSinceFlush.push({ offset, length });
        opts.onProgress?.(session.progress.copiedBytes, session.progress.totalBytes);
        if (copiedSinceFlush.length >= CATCH_UP_FLUSH_RUNS) {
          await link.flush();
          copiedSinceFlush = [];
        }
        run = map.nextRun(offset + length, CATCH_UP_RUN);
      }
      if (await session.joinIfCopied()) return;
    }
  } catch (err) {
    session.abandon(copiedSinceFlush);
    throw err;
  }
}

/** A volume as the scheduler sees it on the node that may be its target. */
export interface CatchUpVolume {
  /** This node's replicas of the volume. */
  readonly replicas: ReadonlyMap<string, { readonly id: string; readonly device: BlockDevice }>;
  /** This node's target of the volume, if it serves it, with the catch-ups running there by replica id. */
  readonly attached: { readonly epoch: number; readonly target: VolumeTarget; readonly catchUps: Map<string, Promise<void>> } | null;
}

export interface CatchUpSchedulerOptions {
  nodeId: string;
  /** Rebuild and resync rate limit of this node (bytes/s; Infinity for none). */
  bytesPerSec: number;
  /** Whether a node is up (has a node record), so its replicas are worth dialling. */
  nodeIsUp: (nodeId: string) => boolean;
  logger: Logger;
}

/** Starts the catch-ups a target needs, at most one per replica, all sharing the node's throttle. */
export class CatchUpScheduler {
  private readonly throttle: Throttle;

  constructor(private readonly opts: CatchUpSchedulerOptions) {
    this.throttle = new Throttle(opts.bytesPerSec);
  }

  /**
   * Starts a catch-up of every replica in `rec` the target does not hold in
   * sync and that is not catching up already. `openLink` opens a link to a
   * replica at the target's epoch, waiting up to `deadlineMs` for it to exist.
   */
  start(volume: CatchUpVolume, rec: VolumeRecord, openLink: (replicaId: string, epoch: number, deadlineMs: number) => Promise<ReplicaLink>): void {
    const a = volume.attached;
    if (!a || a.target.isFenced) return;
    const status = new Map(a.target.status().map((s) => [s.id, s]));
    for (const r of rec.replicas) {
      const s = status.get(r.id);
      if (s && s.mode !== "out") continue;
      if (!s && rec.inSync.includes(r.id)) continue;
      if (a.catchUps.has(r.id)) continue;
      if (r.nodeId === this.opts.nodeId ? !volume.replicas.has(r.id) : !this.opts.nodeIsUp(r.nodeId)) continue;
      // A slot this target never had is a replica added after it attached: empty, so a rebuild of
      // allocated regions is enough. Any other gets what the target tracked (or everything).
      const kind = s ? "resync" : "rebuild";
      const localInSync = [...volume.replicas.values()].find((x) => a.target.inSyncIds().includes(x.id));
      const task = (async () => {
        const link = await openLink(r.id, a.epoch, 1_000);
        const started = Date.now();
        try {
          await catchUp(a.target, r.id, link, {
            kind,
            throttle: this.throttle,
            ...(kind === "rebuild" && localInSync ? { source: localInSync.device } : {}),
          });
        } catch (err) {
          link.close();
          throw err;
        }
        this.opts.logger.info({ volume: rec.id, replica: r.id, kind, ms: Date.now() - started, bytes: a.target.resyncBytesSent }, "replica back in sync");
      })()
        .catch((err: unknown) => this.opts.logger.info({ volume: rec.id, replica: r.id, err: err instanceof Error ? err.message : String(err) }, "catch-up stopped; retrying later"))
        .finally(() => a.catchUps.delete(r.id));
      a.catchUps.set(r.id, task);
    }
  }
}
