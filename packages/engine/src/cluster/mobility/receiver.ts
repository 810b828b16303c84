/**
 * The destination side of one mobility connection (one volume, one run).
 *
 *   HELLO  → the volume on this cluster (existing, or none yet), and the base:
 *            the newest of the sender's candidate snapshots this volume holds.
 *            If another node is the volume's target: REDIRECT there.
 *   START  → capacity check (refused with numbers), the volume created if it is
 *            new (own placement and replicas, read-only while a destination,
 *            the source's data key rewrapped with this node's KEK), then READY
 *            with the durable cursor of this run (a resumed run skips past it).
 *   EXTENT → decompress, SHA-256 against the frame's digest (a mismatch is a
 *            NACK: the sender sends that extent again), written as stored bytes
 *            straight into the target (ciphertext stays ciphertext). Every few
 *            extents, and whenever the sender has nothing more queued: flush the
 *            target, persist the cursor, then ACK — never the other way round.
 *   DONE   → the matching snapshot, older ones of this pair dropped, DONE_OK.
 *   VERIFY → per-extent digests of that snapshot compared here; only the list
 *            of mismatched extents goes back.
 *
 * When the connection drops, what was received whole is flushed and
 * committed, so a killed sender loses nothing it already delivered. A link
 * that dies silently (no FIN, no RST) is ended the same way once the sender
 * has sent nothing for SENDER_SILENCE_MS while the session waited for it, and
 * a session superseded by a newer one for the same volume is ended by it.
 */
import { timingSafeEqual } from "node:crypto";
import { keys, nodeRecordSchema, volumeRecordSchema, type VolumeRecord } from "../../consensus/records";
import { createClusterVolume } from "../volume-ops";
import { dataKeyCheck, verifyDataKeyCheck } from "../../crypto/xts";
import { EngineError } from "../../errors";
import type { Logger } from "../../logger";
import { EXTENT_SIZE } from "../../volume/geometry";
import { decompressFromWire, extentDigests, extentsOf, isAllZero, sha256, zeroExtentDigest } from "./extents";
import type { MobilityHost } from "./host";
import { LinkStalledError, secondsText, StallWatch } from "./link";
import { cursorRecordSchema, mobilityKeys, putRecord, endpointRecordSchema, type CursorRecord } from "./records";
import { decodeExtent, decodeJson, doneSchema, framePool, helloSchema, MessageType, startSchema, verifySchema, type Frame, type FrameSocket, type Hello, type Start } from "./wire";
import { formatBytes } from "./format";
import { StageTimes } from "./stages";

/**
 * A commit (flush the target, persist the cursor, ACK) every this many extents, or once the
 * link has been idle COMMIT_IDLE_MS. Each commit costs an fdatasync on every destination replica
 * and an etcd write, so one per 4 MiB extent would cap a run far below the link; eight bounds
 * what a destination crash makes the sender resend to 32 MiB (a killed sender resends nothing:
 * what arrived whole is committed at disconnect). The sender's window must exceed this.
 */
export const COMMIT_EVERY_EXTENTS = 8;
const COMMIT_IDLE_MS = 100;
const WRITES_IN_FLIGHT = 3;
const ATTACH_WAIT_MS = 30_000;
/**
 * How long a session waiting for the sender lets it send nothing at all before it ends the
 * session (committing what it holds, as at a disconnect). The session only waits for the
 * sender when it owes nothing itself (every commit done and acknowledged), and the sender
 * keeps bytes moving while it streams: frames back to back, or under a bandwidth limit in
 * pieces of a quarter second of the rate (sender.ts), so even a low limit leaves no frame-long
 * gaps; it hashes for VERIFY before it connects. Three times the sender's own stall limit for
 * acknowledgements (20 s): when a link dies the sender reports it, with the run's error, and
 * this only frees the session here.
 */
export const SENDER_SILENCE_MS = 60_000;

export interface ReceiverStats {
  bytesReceived: number;
  extentsRefused: number;
  /**
   * The session of each volume that received last. A resumed run waits for its predecessor to
   * end and commit what it got (a dropped link is seen here a moment after the sender
   * reconnects), so it starts after everything that arrived, not from an older cursor.
   */
  sessions: Map<string, SessionHandle>;
}

export interface SessionHandle {
  /** Settles once the session has ended and committed what it received. */
  finished: Promise<void>;
  /** Ends the session's link now (it then commits and settles `finished`). */
  supersede(reason: string): void;
}

/**
 * How long a new session waits for its predecessor to end by itself before ending it. A link
 * cut silently leaves the predecessor waiting for frames (up to SENDER_SILENCE_MS) on a
 * connection whose remaining bytes the sender's kernel may still deliver once the link is
 * back: ended here, it can never write an older run's extents behind the new session's.
 */
const PREDECESSOR_WAIT_MS = 5_000;

/**
 * Makes `mine` the session of `volume`. A previous session still open is given `waitMs` to end
 * by itself, then ended with `reason`; either way it has finished (committed what it received)
 * when this resolves, so its writes can never land behind the new session's. True if it had to
 * be ended.
 */
export async function takeOverVolume(sessions: Map<string, SessionHandle>, volume: string, mine: SessionHandle, waitMs: number, reason: string): Promise<boolean> {
  const previous = sessions.get(volume);
  sessions.set(volume, mine);
  if (!previous) return false;
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([previous.finished.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)))]);
  clearTimeout(timer);
  if (ended) return false;
  previous.supersede(reason);
  await previous.finished;
  return true;
}

export interface ReceiverOptions {
  /** A shorter SENDER_SILENCE_MS for tests; never set from configuration. */
  senderSilenceMs?: number;
}

export class ReceiverSession {
  private volume: VolumeRecord | null = null;
  private hello: Hello | null = null;
  private start: Start | null = null;
  private lastDurable = -1;
  /** The highest extent a commit was started for (it may still be under way). */
  private lastScheduled = -1;
  /** The commits under way, in order; the first failure stops the session. */
  private committing: Promise<void> = Promise.resolve();
  private commitFailure: Error | null = null;
  private lastWritten = -1;
  /**
   * Extents refused for their checksum and not yet received again. Later extents are still
   * written, but the cursor stays below the first of these, so it always means "everything up
   * to here is durable".
   */
  private readonly refused = new Set<number>();
  private sinceCommit = 0;
  /** Extent writes still in flight to the target (at most WRITES_IN_FLIGHT). */
  private readonly writing: Array<Promise<void>> = [];
  private writeFailure: Error | null = null;
  private bytesReceived = 0;
  private log: Logger;
  private stages = new StageTimes();

  private settle: () => void = () => undefined;
  private readonly handle: SessionHandle;
  /** Times the sender's silence while this session waits for its next frame. */
  private readonly silence: StallWatch;
  private readonly senderSilenceMs: number;

  constructor(
    private readonly host: MobilityHost,
    private readonly peer: string,
    private readonly sock: FrameSocket,
    private readonly stats: ReceiverStats,
    opts: ReceiverOptions = {},
  ) {
    this.log = host.logger.child({ component: "mobility-receiver", peer });
    this.senderSilenceMs = opts.senderSilenceMs ?? SENDER_SILENCE_MS;
    this.silence = new StallWatch(sock, {
      countOutbound: false,
      stalled: (_what, quietMs) => new LinkStalledError(`mobility link from ${peer} stalled: nothing received for ${secondsText(quietMs)}; the session ends, keeping what arrived whole`),
    });
    this.handle = {
      finished: new Promise<void>((resolve) => {
        this.settle = resolve;
      }),
      supersede: (reason) => this.sock.fail(new Error(reason)),
    };
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        const f = await this.nextCommittingWhenIdle();
        if (!f) break;
        switch (f.type) {
          case MessageType.Hello:
            await this.onHello(decodeJson(f, helloSchema, "HELLO"));
            break;
          case MessageType.Start:
            await this.onStart(decodeJson(f, startSchema, "START"));
            break;
          case MessageType.Extent:
            await this.onExtent(f);
            break;
          case MessageType.Done:
            await this.onDone(decodeJson(f, doneSchema, "DONE"));
            break;
          case MessageType.Verify:
            await this.onVerify(decodeJson(f, verifySchema, "VERIFY"));
            break;
          default:
            throw new EngineError("PROTOCOL", `unexpected message type ${f.type}`);
        }
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = err instanceof EngineError ? err.code : "PROTOCOL";
      this.log.warn({ volume: this.hello?.volume, err: message }, "mobility session ended with an error");
      if (!this.sock.socket.destroyed) this.sock.sendJson(MessageType.Refuse, { code, message });
    } finally {
      this.silence.stop();
      // Whatever arrived whole is kept: the next run resumes after it.
      await this.commit(false).catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "committing received extents at disconnect failed"));
      this.settle();
      const v = this.hello?.volume;
      if (v !== undefined && this.stats.sessions.get(v) === this.handle) this.stats.sessions.delete(v);
      this.sock.socket.end();
    }
  }

  /**
   * The next frame; while uncommitted extents wait, or a commit is still under way, and none
   * arrives for COMMIT_IDLE_MS, commits them and waits for every commit. Waiting when idle costs
   * nothing (nothing arrives), and it is what reports a failed background commit: a sender whose
   * window is full sends nothing more, so without it nobody would ever read that failure.
   */
  private async nextCommittingWhenIdle(): Promise<Frame | null> {
    const next = this.stages.time("wait-frame", this.sock.next());
    if (this.sinceCommit === 0 && this.refused.size === 0 && this.lastScheduled === this.lastDurable) return this.fromSender(next);
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<"idle">((resolve) => {
      timer = setTimeout(() => resolve("idle"), COMMIT_IDLE_MS);
    });
    const first = await Promise.race([next, idle]);
    clearTimeout(timer);
    if (first !== "idle") return first;
    await this.commit(true);
    return this.fromSender(next);
  }

  /** Waits for the sender's next frame with nothing of ours under way: only now does its silence count. */
  private async fromSender(next: Promise<Frame | null>): Promise<Frame | null> {
    this.silence.expect(this.senderSilenceMs, "frame");
    try {
      return await next;
    } finally {
      this.silence.idle();
    }
  }

  private async onHello(h: Hello): Promise<void> {
    this.hello = h;
    const rec = (await this.host.store.get(keys.volume(h.volume), volumeRecordSchema))?.value ?? null;
    if (rec) {
      this.checkExisting(rec, h);
      const target = rec.target?.nodeId;
      if (target !== undefined && target !== this.host.nodeId) {
        const ep = (await this.host.store.get(mobilityKeys.endpoint(target), endpointRecordSchema))?.value.address;
        if (!ep) throw new EngineError("NO_TARGET", `volume ${h.volume} is served by node ${target}, which has no mobility endpoint now`);
        this.sock.sendJson(MessageType.Redirect, { endpoint: ep, nodeId: target });
        return;
      }
    }
    this.volume = rec;
    const held = new Set(rec?.snapshots.map((s) => s.name) ?? []);
    const base = h.candidates.find((c) => held.has(c)) ?? null;
    this.sock.sendJson(MessageType.HelloOk, { base });
  }

  private checkExisting(rec: VolumeRecord, h: Hello): void {
    const d = rec.replicationDestination;
    if (!d || d.peer !== this.peer || d.sourceVolume !== h.sourceVolume) {
      throw new EngineError("EXISTS", `volume ${h.volume} exists on this cluster and is not the replication destination of ${this.peer}/${h.sourceVolume}`);
    }
    if (rec.spec.sizeBytes < h.sizeBytes) throw new EngineError("INVALID", `volume ${h.volume} here has ${rec.spec.sizeBytes} bytes, the source ${h.sizeBytes}`);
    if (rec.spec.encrypted !== h.encrypted) throw new EngineError("INVALID", `volume ${h.volume}: encrypted here is ${rec.spec.encrypted}, at the source ${h.encrypted}`);
    if (h.encrypted) {
      const key = Buffer.from(h.dataKey ?? "", "base64");
      try {
        if (!rec.encryption || key.length !== 64 || !verifyDataKeyCheck(key, rec.encryption.keyCheck)) throw new EngineError("WRONG_KEY", `volume ${h.volume}: the source's data key does not match this copy's`);
      } finally {
        key.fill(0);
      }
    }
  }

  private async onStart(s: Start): Promise<void> {
    const h = this.hello;
    if (!h) throw new EngineError("PROTOCOL", "START before HELLO");
    const superseded = await takeOverVolume(this.stats.sessions, h.volume, this.handle, PREDECESSOR_WAIT_MS, `mobility session for ${h.volume} superseded by a newer one from ${this.peer}`);
    if (superseded) this.log.warn({ volume: h.volume }, "ended the previous session of this volume, which was still open");
    this.start = s;
    const held = this.volume?.snapshots.map((x) => x.name) ?? [];
    if (s.base !== null && !held.includes(s.base)) throw new EngineError("INVALID", `base snapshot ${s.base} is not held by ${h.volume} here`);
    await this.checkCapacity(h, s);
    if (!this.volume) this.volume = await this.createDestination(h);
    await this.host.waitAttached(h.volume, ATTACH_WAIT_MS);
    const cursor = (await this.host.store.get(mobilityKeys.cursor(h.volume), cursorRecordSchema))?.value;
    const resumed = cursor?.runId === s.runId ? cursor : null;
    if (!resumed && s.base === null && this.volume.snapshots.length > 0) {
      // A full copy over an older copy: what the source no longer holds must not survive.
      await this.target().trim(0, this.target().size);
    }
    this.lastDurable = resumed?.lastExtent ?? -1;
    this.lastScheduled = this.lastDurable;
    this.lastWritten = this.lastDurable;
    this.bytesReceived = resumed?.bytesReceived ?? 0;
    if (!resumed) await this.persistCursor();
    this.log.info({ volume: h.volume, run: s.runId, base: s.base, snapshot: s.snapshot, bytes: s.bytes, resumeAfter: this.lastDurable }, "mobility run accepted");
    this.sock.sendJson(MessageType.Ready, { lastExtent: this.lastDurable, bytesReceived: this.bytesReceived });
  }

  /** Refuses before any data moves when the cluster cannot hold the copy, with the numbers. */
  private async checkCapacity(h: Hello, s: Start): Promise<void> {
    const nodes = (await this.host.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => n.value);
    if (!this.volume) {
      const replicas = Math.min(h.replicas ?? 1, nodes.length || 1);
      const free = nodes.map((n) => ({ id: n.id, free: Math.max(0, n.capacityBytes * n.overcommit - n.provisionedBytes) })).sort((a, b) => b.free - a.free);
      const enough = free.filter((n) => n.free >= h.sizeBytes).length;
      if (enough < replicas) {
        const best = free[0];
        throw new EngineError(
          "NO_SPACE",
          `volume ${h.volume} needs ${formatBytes(h.sizeBytes)} on each of ${replicas} node(s); this cluster has ${formatBytes(best?.free ?? 0)} free at most (node ${best?.id ?? "none"}), ${enough} node(s) with enough`,
        );
      }
    }
    const nodeRec = nodes.find((n) => n.id === (this.volume?.target?.nodeId ?? this.host.nodeId));
    if (nodeRec) {
      const free = Math.max(0, nodeRec.capacityBytes - (await this.usedOn(nodeRec.id)));
      if (s.bytes > free) throw new EngineError("NO_SPACE", `replicating ${h.volume} needs ${formatBytes(s.bytes)}; node ${nodeRec.id} has ${formatBytes(free)} free`);
    }
  }

  /** Bytes held by the pool of this node (other nodes publish only what they promised). */
  private usedOn(nodeId: string): Promise<number> {
    return Promise.resolve(nodeId === this.host.nodeId ? this.host.poolUsedBytes() : 0);
  }

  private async createDestination(h: Hello): Promise<VolumeRecord> {
    let encryption;
    if (h.encrypted) {
      const kek = this.host.kek;
      if (!kek) throw new EngineError("INVALID", `volume ${h.volume} is encrypted at the source; node ${this.host.nodeId} has no key-encryption key to rewrap its data key (--kms-key-file)`);
      const key = Buffer.from(h.dataKey ?? "", "base64");
      try {
        if (key.length !== 64) throw new EngineError("PROTOCOL", "HELLO: dataKey: an encrypted volume's data key is 64 bytes");
        const wrapped = await kek.provider.wrapKey(key, { volumeId: h.volume });
        encryption = { wrappedKey: { provider: wrapped.provider, keyId: wrapped.keyId, ciphertext: wrapped.ciphertext }, keyCheck: dataKeyCheck(key) };
      } finally {
        key.fill(0);
      }
    }
    const nodes = (await this.host.store.list(keys.nodesPrefix, nodeRecordSchema)).length;
    const rec = await createClusterVolume(this.host.store, {
      id: h.volume,
      sizeBytes: h.sizeBytes,
      replicas: Math.min(h.replicas ?? 1, Math.max(1, nodes)),
      targetNodeId: this.host.nodeId,
      replicationDestination: { peer: this.peer, sourceVolume: h.sourceVolume, ...(encryption ? { encryption } : {}) },
    });
    this.log.info({ volume: h.volume, replicas: rec.replicas.map((r) => r.nodeId), encrypted: rec.spec.encrypted }, "replication destination created");
    return rec;
  }

  private target() {
    const v = this.hello?.volume ?? "";
    const a = this.host.attached(v);
    if (!a) throw new EngineError("NO_TARGET", `this node no longer serves ${v}`);
    return a.target;
  }

  private async onExtent(frame: Frame): Promise<void> {
    if (!this.start) throw new EngineError("PROTOCOL", "EXTENT before START");
    this.throwIfCommitFailed();
    const f = decodeExtent(frame.payload, EXTENT_SIZE);
    const again = this.refused.has(f.extent);
    if (f.extent <= this.lastWritten && !again) throw new EngineError("PROTOCOL", `EXTENT ${f.extent} out of order (after ${this.lastWritten})`);
    const raw = await this.stages.time("inflate", decompressFromWire(f.compression, f.body, f.rawLength).catch(() => null));
    // Inline: hashing on a worker thread (frames in shared memory, no copy) was measured and cost
    // the destination more CPU per GiB (messages, a second core pulling the frame through its
    // caches) for no gain in rate on two cores shared with the sender.
    const since = performance.now();
    const digest = raw && raw.length === f.rawLength ? sha256(raw) : null;
    this.stages.add("digest", since);
    const intact = raw !== null && digest !== null && timingSafeEqual(digest, f.digest);
    // The frame's (pooled) buffer is read until the last of its ranges is written; inflated bytes are their own.
    if (raw !== f.body) frame.release();
    if (!intact) {
      frame.release();
      this.stats.extentsRefused++;
      this.refused.add(f.extent);
      this.log.warn({ volume: this.hello?.volume, extent: f.extent }, "extent refused: checksum mismatch");
      const nack = Buffer.allocUnsafe(4);
      nack.writeUInt32BE(f.extent, 0);
      this.sock.send(MessageType.Nack, nack);
      return;
    }
    const target = this.target();
    const base = f.extent * EXTENT_SIZE;
    const write = (async () => {
      let at = 0;
      for (const r of f.ranges) {
        const data = raw.subarray(at, at + r.length);
        at += r.length;
        // Zeros stay thin: a zeroed or trimmed block at the source reads as zeros there too.
        if (isAllZero(data)) await target.writeZeroes(base + r.offset, r.length);
        else await target.write(base + r.offset, data);
      }
    })();
    // Writes overlap the next frames' checks (each is a round trip to the destination's replicas);
    // a failed one poisons every later commit, so the cursor never passes it.
    write.then(frame.release, (err: unknown) => {
      // Not given back: a write that failed part-way may still be read by a replica's request.
      this.writeFailure ??= err instanceof Error ? err : new Error(String(err));
    });
    this.writing.push(write);
    if (this.writing.length >= WRITES_IN_FLIGHT) await this.stages.time("write-slot", this.writing.shift() ?? Promise.resolve());
    if (again) this.refused.delete(f.extent);
    else this.lastWritten = f.extent;
    this.bytesReceived += f.rawLength;
    this.stats.bytesReceived += f.rawLength;
    this.sinceCommit++;
    // Not waited for: frames keep arriving, being checked and written while the destination
    // flushes and the cursor goes to etcd (an fdatasync and a consensus write, which stalled the
    // stream once per batch). A failure surfaces at the next frame or when the link goes idle.
    if (this.sinceCommit >= COMMIT_EVERY_EXTENTS) this.commitInBackground(true);
  }

  /** The highest extent below which everything received is written: just under the first refused one, if any. */
  private get durableCandidate(): number {
    if (this.refused.size === 0) return this.lastWritten;
    return Math.min(...this.refused) - 1;
  }

  /**
   * Queues a commit of what is written so far behind the one under way, without waiting for it;
   * commits run one at a time, in order, so ACKs only ever grow. (A hang once blamed on this was
   * the sender's ACK reader stopping early, fixed since.)
   */
  private commitInBackground(ack: boolean): void {
    const through = this.durableCandidate;
    if (through <= this.lastScheduled || !this.start) return;
    this.lastScheduled = through;
    this.sinceCommit = 0;
    const writes = this.writing.splice(0);
    const bytes = this.bytesReceived;
    this.committing = this.committing.then(async () => {
      if (this.commitFailure) return;
      try {
        await this.commitThrough(through, bytes, writes, ack);
      } catch (err) {
        this.commitFailure = err instanceof Error ? err : new Error(String(err));
      }
    });
  }

  /** Commits everything written so far and waits for it (and for every commit before it). */
  private async commit(ack: boolean): Promise<void> {
    this.commitInBackground(ack);
    await this.committing;
    this.throwIfCommitFailed();
  }

  private throwIfCommitFailed(): void {
    if (this.commitFailure) throw this.commitFailure;
  }

  /** The writes of extents up to `through` finished, then flush, then the cursor, then (if asked) the ACK carrying it. */
  private async commitThrough(through: number, bytes: number, writes: Array<Promise<void>>, ack: boolean): Promise<void> {
    await this.stages.time("commit-writes", Promise.allSettled(writes));
    if (this.writeFailure) throw new EngineError("UNAVAILABLE", `writing to the destination volume failed: ${this.writeFailure.message}`);
    await this.stages.time("flush", this.target().flush());
    await this.stages.time("cursor", this.persistCursor(through, bytes));
    this.lastDurable = through;
    if (ack && !this.sock.socket.destroyed) {
      const b = Buffer.allocUnsafe(4);
      b.writeInt32BE(through, 0);
      this.sock.send(MessageType.Ack, b);
    }
  }

  private async persistCursor(through = this.lastDurable, bytesReceived = this.bytesReceived): Promise<void> {
    const s = this.start;
    const v = this.hello?.volume;
    if (!s || !v) return;
    const cursor: CursorRecord = { v: 1, runId: s.runId, lastExtent: through, bytesReceived };
    await putRecord(this.host.store, mobilityKeys.cursor(v), cursor);
  }

  private async onDone(d: { snapshot: string; createdAt: string }): Promise<void> {
    const h = this.hello;
    if (!h || !this.start) throw new EngineError("PROTOCOL", "DONE before START");
    await this.commit(true);
    const rec = (await this.host.store.get(keys.volume(h.volume), volumeRecordSchema))?.value;
    if (!rec) throw new EngineError("NOT_FOUND", `volume ${h.volume} was deleted during the run`);
    if (!rec.snapshots.some((x) => x.name === d.snapshot)) await this.host.snapshotVolume(h.volume, d.snapshot);
    // The new snapshot is the next run's base; older ones of this pair are no longer needed.
    for (const old of rec.snapshots) {
      if (old.name !== d.snapshot) await this.host.deleteVolumeSnapshot(h.volume, old.name).catch((err: unknown) => this.log.warn({ snapshot: old.name, err: err instanceof Error ? err.message : String(err) }, "dropping an older replicated snapshot failed"));
    }
    await this.host.store.delete(mobilityKeys.cursor(h.volume));
    this.start = null;
    this.log.info({ volume: h.volume, snapshot: d.snapshot, sourceTakenAt: d.createdAt, bytes: this.bytesReceived, stagesMs: this.stages.summary(), frameBuffersAllocated: framePool.allocated }, "mobility run completed");
    this.sock.sendJson(MessageType.DoneOk, { snapshot: d.snapshot });
  }

  private async onVerify(v: { snapshot: string; digests: Record<string, string> }): Promise<void> {
    const h = this.hello;
    if (!h) throw new EngineError("PROTOCOL", "VERIFY before HELLO");
    const theirs = new Map(Object.entries(v.digests).map(([k, d]) => [Number(k), d]));
    const replica = this.host.localReplicaWith(h.volume, [v.snapshot]);
    let extents = new Set(theirs.keys());
    let device;
    if (replica) {
      device = replica.openSnapshot(v.snapshot);
      for (const e of extentsOf(replica.diff(null, v.snapshot))) extents.add(e);
    } else {
      // No local copy of the snapshot: the head through the target, which nothing but the receiver writes.
      device = this.target();
      extents = new Set([...extents]);
    }
    const ours = await extentDigests(device, [...extents].sort((a, b) => a - b));
    const zero = zeroExtentDigest();
    const mismatched = [...extents].filter((e) => (theirs.get(e) ?? zero) !== (ours.get(e) ?? zero)).sort((a, b) => a - b);
    this.sock.sendJson(MessageType.VerifyResult, { extents: extents.size, mismatched });
  }
}
