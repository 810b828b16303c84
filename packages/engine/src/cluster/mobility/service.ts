/**
 * Mobility on one engine node: its endpoint (receiver sessions), the peers
 * this cluster replicates to, and the runs this node sends. Runs, progress,
 * history and cursors live in etcd (records.ts), so any node answers status
 * and a run interrupted on one node resumes from another.
 *
 * Groups: a run replicates "a set of volumes with one snapshot name each";
 * `startReplication` is that with a set of one. A group replication feeds it
 * the volumes of a group snapshot, all under the same name (see
 * `startGroupReplication`).
 */
import { keys, nodeRecordSchema, volumeRecordSchema, type VolumeRecord } from "../../consensus/records";
import { unwrapDataKey } from "../../kms/volume-keys";
import { EngineError, type EngineErrorCode } from "../../errors";
import type { Logger } from "../../logger";
import type { HostPort } from "../../node/node";
import type { MobilityHost } from "./host";
import { PeerLimiters } from "./limiter";
import { listenMobility, type MobilityServer } from "./link";
import { MobilityMetrics } from "./metrics";
import { checkBundle, openPairKey, sealPairKey, type PairBundle } from "./pair";
import { ReceiverSession, type ReceiverStats } from "./receiver";
import {
  HISTORY_LENGTH,
  historySchema,
  mobilityKeys,
  peerRecordSchema,
  putRecord,
  runRecordSchema,
  type HistoryEntry,
  type PeerRecord,
  type RunRecord,
} from "./records";
import { sendVolume, verifyVolume, type FrameTransform, type SendProgress } from "./sender";
import { RefusedError, type FrameSocket } from "./wire";

export const DEFAULT_MOBILITY_PORT = 9811;

export interface StartReplication {
  peer: string;
  /** The volume's name on the peer (default: the same). */
  destination?: string;
  /** Replicas of the destination volume (default: the source's, at most the peer's node count). */
  replicas?: number;
  /** Resolve once the run ends (and throw its error) instead of when it starts. */
  wait?: boolean;
  /** Send this existing snapshot instead of taking one (a group snapshot's member). */
  snapshot?: string;
}

/** Where a start must run: a node holding a replica of the volume. */
export class ElsewhereError extends Error {
  constructor(readonly nodeId: string) {
    super(`runs on node ${nodeId}`);
  }
}

export interface PeerView {
  name: string;
  localName: string;
  endpoints: string[];
  bandwidthBytesPerSec: number | null;
  keyAtRest: "kms" | "plain";
  addedAt: string;
}

export interface RunView extends RunRecord {
  history: HistoryEntry[];
  lagSeconds: number | null;
}

interface LocalRun {
  controller: AbortController;
  done: Promise<void>;
}

export interface MobilityOptions {
  listen: HostPort;
  /** host:port peers dial (default: the listener's). */
  advertise?: string;
  /** Fault-injection seam for tests (sender.ts); no flag or environment variable sets it. */
  frameTransform?: FrameTransform;
}

export class Mobility {
  private server: MobilityServer | undefined;
  private readonly limiters = new PeerLimiters();
  private readonly runs = new Map<string, LocalRun>();
  readonly metrics = new MobilityMetrics();
  readonly receiverStats: ReceiverStats = { bytesReceived: 0, extentsRefused: 0, sessions: new Map() };
  private readonly log: Logger;
  address = "";

  constructor(
    private readonly host: MobilityHost,
    private readonly opts: MobilityOptions,
  ) {
    this.log = host.logger.child({ component: "mobility" });
  }

  async open(): Promise<void> {
    this.server = await listenMobility({
      host: this.opts.listen.host,
      port: this.opts.listen.port,
      tls: this.host.tls,
      logger: this.log,
      onPeer: (peer, sock) => this.accept(peer, sock),
    });
    const a = this.server.address;
    this.address = this.opts.advertise ?? `${a.host}:${a.port}`;
    await putRecord(this.host.store, mobilityKeys.endpoint(this.host.nodeId), { address: this.address });
  }

  private accept(peer: string, sock: FrameSocket): void {
    void new ReceiverSession(this.host, peer, sock, this.receiverStats).run();
  }

  async close(): Promise<void> {
    for (const r of this.runs.values()) r.controller.abort();
    await Promise.all([...this.runs.values()].map((r) => r.done.catch(() => undefined)));
    await this.server?.close();
  }

  // ------------------------------------------------------------------ peers ----

  async addPeer(bundle: PairBundle, opts: { bandwidthBytesPerSec?: number } = {}): Promise<PeerView> {
    checkBundle(bundle);
    const record: PeerRecord = {
      v: 1,
      name: bundle.cluster,
      localName: bundle.peer,
      endpoints: bundle.endpoints,
      caPem: bundle.caPem,
      certPem: bundle.certPem,
      key: await sealPairKey(bundle.keyPem, bundle.cluster, this.host.kek),
      ...(opts.bandwidthBytesPerSec === undefined ? {} : { bandwidthBytesPerSec: opts.bandwidthBytesPerSec }),
      addedAt: new Date().toISOString(),
    };
    if (record.key.kind === "plain") this.log.warn({ peer: record.name }, "pair key stored without encryption: this node has no key-encryption key (--kms-key-file)");
    await putRecord(this.host.store, mobilityKeys.peer(record.name), record);
    return peerView(record);
  }

  async setPeerBandwidth(name: string, bytesPerSec: number | null): Promise<PeerView> {
    const updated = await this.host.store
      .update(mobilityKeys.peer(name), peerRecordSchema, (p) => {
        const { bandwidthBytesPerSec: _old, ...rest } = p;
        return bytesPerSec === null ? rest : { ...rest, bandwidthBytesPerSec: bytesPerSec };
      })
      .catch(() => {
        throw new EngineError("NOT_FOUND", `peer ${name} not found`);
      });
    return peerView(updated.value);
  }

  async listPeers(): Promise<PeerView[]> {
    return (await this.host.store.list(mobilityKeys.peersPrefix, peerRecordSchema)).map((p) => peerView(p.value));
  }

  async removePeer(name: string): Promise<void> {
    await this.peer(name);
    await this.host.store.delete(mobilityKeys.peer(name));
  }

  private async peer(name: string): Promise<PeerRecord> {
    const p = (await this.host.store.get(mobilityKeys.peer(name), peerRecordSchema))?.value;
    if (!p) throw new EngineError("NOT_FOUND", `peer: no peer named ${name} ('stowage-engine mobility peer add')`);
    return p;
  }

  // ------------------------------------------------------------------- runs ----

  /**
   * Starts (or resumes) replicating `volume` to `req.peer`. Throws ElsewhereError when this
   * node holds no replica of it (the admin route forwards there).
   */
  async startReplication(volume: string, req: StartReplication): Promise<RunRecord> {
    const [run] = await this.startSet([{ volume, ...(req.snapshot === undefined ? {} : { snapshot: req.snapshot }) }], req);
    if (!run) throw new Error("no run started");
    return run;
  }

  /**
   * The seam for group replication: every volume of a group snapshot, each sent from its own
   * snapshot of the same name. The volumes run in parallel under the peer's bandwidth limit.
   */
  async startGroupReplication(members: Array<{ volume: string; snapshot: string }>, req: Omit<StartReplication, "snapshot" | "destination">): Promise<RunRecord[]> {
    return this.startSet(members, req);
  }

  private async startSet(members: Array<{ volume: string; snapshot?: string }>, req: StartReplication): Promise<RunRecord[]> {
    const peer = await this.peer(req.peer);
    const keyPem = await openPairKey(peer.key, peer.name, this.host.kek);
    const started: Array<{ run: RunRecord; done: Promise<unknown> }> = [];
    for (const m of members) {
      const rec = (await this.host.store.get(keys.volume(m.volume), volumeRecordSchema))?.value;
      if (!rec) throw new EngineError("NOT_FOUND", `volume ${m.volume} not found`);
      if (!this.host.localReplicaWith(m.volume, [])) {
        const holder = await this.holderOf(rec);
        throw new ElsewhereError(holder);
      }
      started.push(await this.launch(rec, peer, keyPem, members.length === 1 ? req : { ...req, destination: m.volume }, m.snapshot));
    }
    if (req.wait) {
      const failed = (await Promise.all(started.map((s) => s.done))).find((e) => e !== null);
      if (failed !== undefined) throw asEngineError(failed);
      return Promise.all(started.map(async (s) => (await this.host.store.get(mobilityKeys.run(s.run.volume), runRecordSchema))?.value ?? s.run));
    }
    return started.map((s) => s.run);
  }

  private async holderOf(rec: VolumeRecord): Promise<string> {
    const live = new Set((await this.host.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => n.value.id));
    const holder = rec.replicas.find((r) => rec.inSync.includes(r.id) && live.has(r.nodeId));
    if (!holder) throw new EngineError("NO_TARGET", `no live node holds an in-sync replica of ${rec.id}`);
    return holder.nodeId;
  }

  private async launch(rec: VolumeRecord, peer: PeerRecord, keyPem: string, req: StartReplication, wanted: string | undefined): Promise<{ run: RunRecord; done: Promise<unknown> }> {
    const volume = rec.id;
    if (this.runs.has(volume)) throw new EngineError("BUSY", `replication of ${volume} is already running on this node`);
    const prev = (await this.host.store.get(mobilityKeys.run(volume), runRecordSchema))?.value;
    if (prev?.state === "running" && prev.node !== this.host.nodeId && (await this.host.store.get(keys.node(prev.node), nodeRecordSchema))) {
      throw new EngineError("BUSY", `replication of ${volume} is running on node ${prev.node}`);
    }
    // An unfinished run to the same peer resumes: same snapshot, same base, so the destination's cursor holds.
    const resumable = prev && prev.state !== "completed" && prev.peer === peer.name && rec.snapshots.some((s) => s.name === prev.snapshot) && (wanted === undefined || wanted === prev.snapshot) ? prev : undefined;
    let snapshot = resumable?.snapshot ?? wanted;
    let createdAt = resumable?.snapshotCreatedAt ?? rec.snapshots.find((s) => s.name === wanted)?.createdAt;
    if (snapshot === undefined || createdAt === undefined) {
      snapshot = `mob-${peer.name}-${Date.now().toString(36)}`;
      createdAt = (await this.host.snapshotVolume(volume, snapshot)).createdAt;
    }
    const replica = this.host.localReplicaWith(volume, [snapshot]);
    if (!replica) throw new EngineError("NO_TARGET", `this node's replica of ${volume} holds no copy of snapshot ${snapshot} (it was not in sync when it was taken); start the replication through a node that does`);
    const now = new Date().toISOString();
    const destination = req.destination ?? prev?.destination ?? volume;
    const run: RunRecord = {
      v: 1,
      volume,
      peer: peer.name,
      destination,
      ...(req.replicas === undefined ? {} : { destinationReplicas: req.replicas }),
      state: "running",
      snapshot,
      snapshotCreatedAt: createdAt,
      base: null,
      node: this.host.nodeId,
      startedAt: now,
      updatedAt: now,
      bytesToSend: 0,
      bytesSent: 0,
      bytesResent: resumable?.bytesResent ?? 0,
      wireBytes: 0,
      rateBytesPerSec: 0,
      etaSeconds: null,
      attempts: (resumable?.attempts ?? 0) + 1,
      ...(prev?.lastCompleted ? { lastCompleted: prev.lastCompleted } : {}),
    };
    await putRecord(this.host.store, mobilityKeys.run(volume), run);
    const controller = new AbortController();
    // Never rejects: a run nobody waits for must not become an unhandled rejection (it is recorded instead).
    const done = this.execute(rec, peer, keyPem, run, replica, resumable, controller.signal).then(
      () => null,
      (err: unknown) => err,
    );
    const tracked = done.finally(() => this.runs.delete(volume)).then(() => undefined);
    this.runs.set(volume, { controller, done: tracked });
    return { run, done };
  }

  private async execute(
    rec: VolumeRecord,
    peer: PeerRecord,
    keyPem: string,
    run: RunRecord,
    replica: NonNullable<ReturnType<MobilityHost["localReplicaWith"]>>,
    resumed: RunRecord | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const log = this.log.child({ volume: run.volume, peer: peer.name, snapshot: run.snapshot });
    const started = Date.now();
    let last: SendProgress | null = null;
    let firstSent: number | undefined;
    let resentAtResume = 0;
    let published = 0;
    let publishing: Promise<void> = Promise.resolve();
    const publish = (p: SendProgress, force = false): void => {
      const t = Date.now();
      if (!force && t - published < 500) return;
      published = t;
      const elapsed = Math.max(0.001, (t - started) / 1000);
      // Rate over this attempt only: a resumed run starts with the bytes the destination already held.
      if (firstSent === undefined) {
        firstSent = p.bytesSent;
        // What the interrupted attempt had sent past the destination's durable cursor is sent again.
        resentAtResume = resumed && resumed.base === p.base ? Math.max(0, resumed.bytesSent - p.bytesSent) : 0;
      }
      const rate = (p.bytesSent - firstSent) / elapsed;
      const remaining = Math.max(0, p.bytesToSend - p.bytesSent);
      Object.assign(run, {
        base: p.base,
        bytesToSend: p.bytesToSend,
        bytesSent: p.bytesSent,
        bytesResent: (resumed?.bytesResent ?? 0) + resentAtResume + p.bytesResent,
        wireBytes: p.wireBytes,
        rateBytesPerSec: Math.round(rate),
        etaSeconds: rate > 0 ? Math.round(remaining / rate) : null,
        updatedAt: new Date().toISOString(),
      });
      const snapshotOfRun = { ...run };
      publishing = publishing.then(() => putRecord(this.host.store, mobilityKeys.run(run.volume), snapshotOfRun)).catch(() => undefined);
    };
    let dataKey: Buffer | null = null;
    try {
      if (rec.spec.encrypted) dataKey = await unwrapDataKey(rec, this.host.kek, { keyRefusal: null }, log);
      const candidates = rec.snapshots
        // Any snapshot may be the common base (a group snapshot sent earlier too): the destination holds only what it was sent.
        .filter((s) => s.name !== run.snapshot)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .map((s) => s.name)
        .filter((name) => replica.listSnapshots().some((x) => x.name === name));
      let sentBefore = 0;
      const result = await sendVolume({
        endpoints: peer.endpoints,
        tls: { caPem: peer.caPem, certPem: peer.certPem, keyPem },
        hello: {
          volume: run.destination,
          sourceVolume: run.volume,
          sizeBytes: rec.spec.sizeBytes,
          encrypted: rec.spec.encrypted,
          ...(dataKey ? { dataKey: dataKey.toString("base64") } : {}),
          replicas: run.destinationReplicas ?? rec.spec.replicas,
          snapshot: run.snapshot,
          candidates,
        },
        replica,
        snapshotCreatedAt: run.snapshotCreatedAt,
        // The cursor belongs to this exact diff: another base or snapshot starts over.
        runIdFor: (base) => `${run.volume}:${base ?? "-"}:${run.snapshot}`,
        limiter: this.limiters.for(peer.name, peer.bandwidthBytesPerSec),
        signal,
        onProgress: (p) => {
          const delta = p.wireBytes - sentBefore;
          if (delta > 0) this.metrics.bytesSent(peer.name, run.volume, delta);
          sentBefore = p.wireBytes;
          last = p;
          publish(p);
        },
        ...(this.opts.frameTransform === undefined ? {} : { frameTransform: this.opts.frameTransform }),
        logger: log,
      });
      publish(result.progress, true);
      await publishing;
      const completedAt = new Date().toISOString();
      run.state = "completed";
      run.lastCompleted = { snapshot: run.snapshot, createdAt: run.snapshotCreatedAt, completedAt };
      run.etaSeconds = 0;
      delete run.error;
      await putRecord(this.host.store, mobilityKeys.run(run.volume), run);
      await this.recordHistory(run, "completed");
      log.info({ bytes: result.progress.bytesSent, wire: result.progress.wireBytes, resent: run.bytesResent, ms: Date.now() - started }, "replication run completed");
      await this.dropOlderSnapshots(rec.id, peer.name, run.snapshot, log);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (last) publish(last, true);
      await publishing;
      run.state = signal.aborted ? "stopped" : "failed";
      run.error = message;
      run.updatedAt = new Date().toISOString();
      if (!signal.aborted) this.metrics.failure(peer.name, run.volume);
      await putRecord(this.host.store, mobilityKeys.run(run.volume), run).catch(() => undefined);
      await this.recordHistory(run, run.state === "stopped" ? "stopped" : "failed").catch(() => undefined);
      log.warn({ err: message, state: run.state }, "replication run ended without completing");
      throw err;
    } finally {
      dataKey?.fill(0);
    }
  }

  private async dropOlderSnapshots(volume: string, peer: string, keep: string, log: Logger): Promise<void> {
    const rec = (await this.host.store.get(keys.volume(volume), volumeRecordSchema))?.value;
    for (const s of rec?.snapshots ?? []) {
      if (s.name === keep || !s.name.startsWith(`mob-${peer}-`)) continue;
      await this.host.deleteVolumeSnapshot(volume, s.name).catch((err: unknown) => log.warn({ old: s.name, err: err instanceof Error ? err.message : String(err) }, "dropping an older replication snapshot failed"));
    }
  }

  private async recordHistory(run: RunRecord, result: HistoryEntry["result"]): Promise<void> {
    const entry: HistoryEntry = {
      snapshot: run.snapshot,
      base: run.base,
      result,
      startedAt: run.startedAt,
      endedAt: new Date().toISOString(),
      bytesSent: run.bytesSent,
      wireBytes: run.wireBytes,
      ...(run.error === undefined ? {} : { error: run.error }),
    };
    const key = mobilityKeys.history(run.volume);
    const cur = (await this.host.store.get(key, historySchema))?.value.items ?? [];
    await putRecord(this.host.store, key, { v: 1, items: [entry, ...cur].slice(0, HISTORY_LENGTH) });
  }

  /** Stops the volume's run on this node. Throws ElsewhereError when it runs on another node. */
  async stopReplication(volume: string): Promise<RunRecord> {
    const local = this.runs.get(volume);
    const rec = (await this.host.store.get(mobilityKeys.run(volume), runRecordSchema))?.value;
    if (!rec) throw new EngineError("NOT_FOUND", `volume ${volume} has no replication`);
    if (!local) {
      if (rec.state === "running" && rec.node !== this.host.nodeId) throw new ElsewhereError(rec.node);
      return rec;
    }
    local.controller.abort();
    await local.done.catch(() => undefined);
    return (await this.host.store.get(mobilityKeys.run(volume), runRecordSchema))?.value ?? rec;
  }

  /** Waits for this node's run of `volume`, if any (tests, `--wait`). */
  async waitRun(volume: string): Promise<void> {
    await this.runs.get(volume)?.done;
  }

  async status(volume?: string): Promise<RunView[]> {
    const runs = volume === undefined ? (await this.host.store.list(mobilityKeys.runsPrefix, runRecordSchema)).map((r) => r.value) : [(await this.host.store.get(mobilityKeys.run(volume), runRecordSchema))?.value].filter((r): r is RunRecord => r !== undefined);
    if (volume !== undefined && runs.length === 0) throw new EngineError("NOT_FOUND", `volume ${volume} has no replication`);
    return Promise.all(
      runs.map(async (r) => ({
        ...r,
        history: (await this.host.store.get(mobilityKeys.history(r.volume), historySchema))?.value.items ?? [],
        lagSeconds: r.lastCompleted ? Math.max(0, (Date.now() - Date.parse(r.lastCompleted.createdAt)) / 1000) : null,
      })),
    );
  }

  /** Compares per-extent digests of the last completed snapshot on both sides. */
  async verify(volume: string): Promise<{ snapshot: string; extents: number; mismatched: number[] }> {
    const run = (await this.host.store.get(mobilityKeys.run(volume), runRecordSchema))?.value;
    const snapshot = run?.lastCompleted?.snapshot;
    if (!run || snapshot === undefined) throw new EngineError("NOT_FOUND", `volume ${volume} has no completed replication to verify`);
    const rec = (await this.host.store.get(keys.volume(volume), volumeRecordSchema))?.value;
    if (!rec) throw new EngineError("NOT_FOUND", `volume ${volume} not found`);
    const replica = this.host.localReplicaWith(volume, [snapshot]);
    if (!replica) throw new ElsewhereError(await this.holderOf(rec));
    const peer = await this.peer(run.peer);
    const keyPem = await openPairKey(peer.key, peer.name, this.host.kek);
    // The destination checks the data key as on any HELLO (it proves this is the same volume's source).
    const dataKey = rec.spec.encrypted ? await unwrapDataKey(rec, this.host.kek, { keyRefusal: null }, this.log) : null;
    try {
      const result = await verifyVolume({
        endpoints: peer.endpoints,
        tls: { caPem: peer.caPem, certPem: peer.certPem, keyPem },
        hello: { volume: run.destination, sourceVolume: volume, sizeBytes: rec.spec.sizeBytes, encrypted: rec.spec.encrypted, ...(dataKey ? { dataKey: dataKey.toString("base64") } : {}), snapshot, candidates: [] },
        replica,
        signal: AbortSignal.timeout(600_000),
        logger: this.log,
      });
      return { snapshot, ...result };
    } finally {
      dataKey?.fill(0);
    }
  }

  /** Prometheus text for the engine's metrics endpoint. */
  async metricsText(): Promise<string> {
    const runs = await this.host.store.list(mobilityKeys.runsPrefix, runRecordSchema).catch(() => []);
    return this.metrics.render(runs.map((r) => r.value));
  }
}

/** Refusal codes of the peer that mean the same to our caller; others become NO_TARGET with the peer's words. */
const PASSED_ON: readonly EngineErrorCode[] = ["INVALID", "NOT_FOUND", "EXISTS", "BUSY", "NO_SPACE", "WRONG_KEY", "ACCESS_DENIED", "KEY"];

/** A run's failure as the admin API reports it: the peer's refusal code when it is one of ours, the message always. */
function asEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RefusedError) {
    const code = PASSED_ON.find((c) => c === err.code) ?? "NO_TARGET";
    return new EngineError(code, `the peer refused: ${message}`);
  }
  // The link or the peer failed: the caller's request was fine, the other side was not there for it.
  return new EngineError("NO_TARGET", `replication failed: ${message}`);
}

function peerView(p: PeerRecord): PeerView {
  return { name: p.name, localName: p.localName, endpoints: p.endpoints, bandwidthBytesPerSec: p.bandwidthBytesPerSec ?? null, keyAtRest: p.key.kind, addedAt: p.addedAt };
}
