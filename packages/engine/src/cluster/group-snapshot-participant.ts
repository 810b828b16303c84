/**
 * A target node's part in group snapshots: the volumes it holds still for
 * coordinators, by attempt (`session`) and volume. A coordinator asks for a
 * quiesce, then a snapshot, then a resume, each as its own request; this side
 * bounds the hold by itself (`holdMs`), so a coordinator that dies or is cut
 * off mid-group never leaves writes waiting past its deadline.
 */
import type { SnapshotRecord } from "../consensus/records";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import type { QuiescedVolume } from "./group-snapshot-quiesce";

/** How long an ended attempt is remembered, so a quiesce that arrives after its resume is refused. */
const ENDED_KEPT_MS = 60_000;

type Hold =
  /** Waiting for the volume's writes in flight to finish. */
  | { state: "draining"; timer: NodeJS.Timeout }
  | { state: "held"; timer: NodeJS.Timeout; volume: QuiescedVolume }
  /** Resumed, expired or cancelled: remembered a while, then forgotten. */
  | { state: "ended"; pauseMs: number | null };

export class GroupQuiesceSessions {
  private readonly holds = new Map<string, Hold>();

  constructor(private readonly log: Logger) {}

  /**
   * Holds the volume's writes (`start`) for attempt `session`, for at most `holdMs` from now:
   * past it the volume resumes by itself, and a quiesce still draining is given up.
   */
  async quiesce(session: string, volumeId: string, holdMs: number, start: () => Promise<QuiescedVolume>): Promise<void> {
    const key = holdKey(session, volumeId);
    if (this.holds.has(key)) throw new EngineError("BUSY", `volume ${volumeId}: group attempt ${session} already asked for a quiesce (or ended)`);
    const timer = setTimeout(() => void this.expire(key, volumeId, holdMs), holdMs);
    timer.unref();
    this.holds.set(key, { state: "draining", timer });
    let volume: QuiescedVolume;
    try {
      volume = await start();
    } catch (err) {
      clearTimeout(timer);
      this.end(key, null);
      throw err;
    }
    const now = this.holds.get(key);
    if (now?.state !== "draining") {
      // Expired or resumed while the writes in flight drained: let them through at once.
      await volume.resume();
      throw new EngineError("BUSY", `volume ${volumeId}: the group's deadline passed (or it was cancelled) before its writes in flight finished`);
    }
    this.holds.set(key, { state: "held", timer, volume });
  }

  /**
   * Takes the held volume's snapshot, then lets its writes through at once, whether it was
   * taken or not: the volume held still from its quiesce until now, so its snapshot is its
   * state at every moment of the hold, including the one when the whole group was held.
   * `resumedAt` (ms since the epoch): when writes went through again.
   */
  async snapshot(session: string, volumeId: string, name: string): Promise<{ snapshot: SnapshotRecord; pauseMs: number; resumedAt: number }> {
    const key = holdKey(session, volumeId);
    const hold = this.holds.get(key);
    if (hold?.state !== "held") {
      throw new EngineError("BUSY", `volume ${volumeId} is not held for group attempt ${session} (${hold === undefined ? "never quiesced" : hold.state === "ended" ? "its deadline passed or it was resumed" : "still draining"})`);
    }
    let taken: { snapshot: SnapshotRecord; pauseMs: number; resumedAt: number };
    try {
      taken = await hold.volume.snapshot(name);
    } finally {
      // Resumed already (at once after the copies, before the record); this ends the hold here.
      await this.release(key, hold);
    }
    return taken;
  }

  /** Lets the volume's writes through; how long they were held (ms), or null if they were not. */
  async resume(session: string, volumeId: string): Promise<number | null> {
    const key = holdKey(session, volumeId);
    const hold = this.holds.get(key);
    if (hold === undefined) {
      // The resume overtook its quiesce (a failed group cancels every volume at once): refuse the quiesce when it comes.
      this.end(key, null);
      return null;
    }
    if (hold.state === "ended") return hold.pauseMs;
    clearTimeout(hold.timer);
    if (hold.state === "draining") {
      this.end(key, null);
      return null;
    }
    return this.release(key, hold);
  }

  /** Ends a hold (once; again, the same figure): writes go through; how long they were held (ms). */
  private async release(key: string, hold: Extract<Hold, { state: "held" }>): Promise<number> {
    clearTimeout(hold.timer);
    const now = this.holds.get(key);
    if (now?.state === "ended" && now.pauseMs !== null) return now.pauseMs;
    this.end(key, null);
    const pauseMs = await hold.volume.resume();
    this.end(key, pauseMs);
    return pauseMs;
  }

  private async expire(key: string, volumeId: string, holdMs: number): Promise<void> {
    const hold = this.holds.get(key);
    if (hold === undefined || hold.state === "ended") return;
    if (hold.state === "held") {
      const pauseMs = await this.release(key, hold);
      this.log.warn({ volume: volumeId, holdMs, pauseMs }, "group quiesce expired; writes resumed");
    } else {
      this.end(key, null);
      this.log.warn({ volume: volumeId, holdMs }, "group quiesce expired while writes drained");
    }
  }

  private end(key: string, pauseMs: number | null): void {
    const known = this.holds.get(key);
    this.holds.set(key, { state: "ended", pauseMs });
    if (known?.state === "ended") return;
    setTimeout(() => {
      if (this.holds.get(key)?.state === "ended") this.holds.delete(key);
    }, ENDED_KEPT_MS).unref();
  }
}

function holdKey(session: string, volumeId: string): string {
  return `${session}/${volumeId}`;
}
