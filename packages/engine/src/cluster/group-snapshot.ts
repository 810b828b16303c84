/**
 * Group snapshots: one crash-consistent point across several replicated
 * volumes, whose targets may be on different nodes. The coordinator (the node
 * receiving the request, or a replication run) asks every target to quiesce
 * its volume; only once ALL hold still does each take its snapshot (metadata
 * only) and resume. A write acknowledged before its volume was held is in that
 * volume's snapshot; none issued after is — so a writer that writes A, then B
 * once A is acknowledged, never finds B's write in the group without A's.
 *
 * The pause is bounded by a deadline, on both sides: past it the coordinator
 * resumes every volume and fails the group, and each target resumes by itself
 * (group-snapshot-participant.ts). A failed group leaves no group record and
 * removes the snapshots it took.
 *
 * Nothing slow happens while writes are held: each target resumes its volume
 * as soon as its copies are taken and records the snapshot in the volume
 * record after, and the coordinator writes the group record once every volume
 * runs again. So a coordinator can die with every volume's snapshot taken and
 * no group: it wrote an attempt record (`group-snapshot-attempts/<name>`)
 * before holding anything, which the group record replaces in one
 * transaction. Listing shows group records only, so only complete groups; the
 * next attempt of that name removes what the dead one left (or says which
 * volumes it could not clean, and why) before it starts.
 */
import { randomUUID } from "node:crypto";
import { AdminClient } from "../admin/client";
import { groupSnapshotAttemptSchema, groupSnapshotKeys, groupSnapshotRecordSchema, keys, RECORD_VERSION, nodeRecordSchema, volumeRecordSchema, type GroupSnapshotAttempt, type GroupSnapshotRecord, type SnapshotRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import type { ClusterAdminOperations } from "./admin-operations";
import { createGroupSnapshotRequestSchema, DEFAULT_GROUP_DEADLINE_MS, groupSnapshotApi, type CreateGroupSnapshotRequest } from "./group-snapshot-api";

/** How the coordinator reaches the target of each volume of the group. */
export interface GroupParticipants {
  /** Before anything is held: finds each volume's target, so no lookup lengthens the pause. */
  prepare?(volumes: VolumeRecord[], session: string): Promise<void>;
  /** Holds the volume's writes for at most `holdMs`; resolves once none is in flight. */
  quiesce(volume: VolumeRecord, session: string, holdMs: number): Promise<void>;
  /**
   * Takes the held volume's snapshot `name`, resumes it, then records the snapshot; how long it
   * was held (ms) and when it resumed (ms since the epoch, the target's clock; absent from an
   * older target).
   */
  snapshot(volume: VolumeRecord, session: string, name: string): Promise<{ snapshot: SnapshotRecord; pauseMs: number; resumedAt?: number | undefined }>;
  /** Lets its writes through (a failed group); how long they were held (ms), or null if they were not. */
  resume(volume: VolumeRecord, session: string): Promise<number | null>;
  /** The attempt is over: forget what `prepare` found. */
  finish?(session: string): void;
}

export interface GroupSnapshotDeps {
  store: ConsensusStore;
  participants: GroupParticipants;
  /** Deletes a volume's snapshot through its target (a failed group's, a deleted group's); NOT_FOUND when it has none. */
  deleteSnapshot(volume: string, name: string): Promise<void>;
  log?: Logger;
  /** How long snapshots a failed group could not remove at once (their target down) are retried in the background (ms). */
  cleanupRetryMs?: number;
}

/** What a failed group left behind is retried this often while its volumes' targets come back. */
const CLEANUP_INTERVAL_MS = 500;
const DEFAULT_CLEANUP_RETRY_MS = 120_000;
/** The claim on a group's name outlives a dead coordinator this long (s); a live one keeps it alive. */
const CLAIM_TTL_S = 10;
/**
 * An abandoned attempt's snapshots are those of its name created since it started; this much
 * earlier counts too, for the skew between the coordinator's clock and the targets'.
 */
const ATTEMPT_CLOCK_SKEW_MS = 5_000;
/** A resume is a lock release on the target: anything slower than this is a target in trouble. */
const RESUME_TIMEOUT_MS = 5_000;
/** The deadline bounds the snapshots; this only stops a request to a target that never answers from lingering. */
const SNAPSHOT_TIMEOUT_MS = 60_000;

/**
 * Takes group snapshot `name` of `volumes` at one crash-consistent point and
 * records it (`group-snapshots/<name>`); each volume gets a snapshot named
 * `name`, recorded in its own record as any snapshot is.
 *
 * Contract, for callers such as cross-cluster replication:
 *  - resolves only once every volume's snapshot and the group record are in
 *    the consensus store; the record lists each volume's snapshot, its holders
 *    and how long its writes were held (each volume resumes as soon as its own
 *    snapshot is taken);
 *  - writes to every volume are held at most `deadlineMs` (default 2 s) from
 *    the first quiesce; past it, or on any failure, every volume resumes, the
 *    snapshots taken are removed and it rejects with an EngineError naming the
 *    field or volume (INVALID, NOT_FOUND, EXISTS, NO_TARGET for a target that
 *    is down or unreachable, FENCED for one superseded, BUSY for the deadline
 *    or a group of that name being taken now); no group is recorded. A
 *    snapshot whose target died mid-group is removed in the background once
 *    the volume is served again (see `cleanupRetryMs`).
 */
export async function takeGroupSnapshot(deps: GroupSnapshotDeps, request: CreateGroupSnapshotRequest): Promise<GroupSnapshotRecord> {
  const parsed = createGroupSnapshotRequestSchema.safeParse(request);
  if (!parsed.success) throw new EngineError("INVALID", parsed.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; "));
  const { name, volumes: ids, deadlineMs = DEFAULT_GROUP_DEADLINE_MS } = parsed.data;
  const { store } = deps;
  if (await store.get(groupSnapshotKeys.group(name), groupSnapshotRecordSchema)) throw new EngineError("EXISTS", `group snapshot ${name} already exists`);
  // One attempt per name at a time: another one's cleanup must never find our snapshots under
  // the shared name. On a lease, so a coordinator that dies does not keep the name.
  const claim = await store.grantLease(CLAIM_TTL_S);
  try {
    const session = randomUUID();
    if (!(await claim.create(groupSnapshotKeys.claim(name), { session }))) throw new EngineError("BUSY", `group snapshot ${name} is being taken by another request`);
    if (await store.get(groupSnapshotKeys.group(name), groupSnapshotRecordSchema)) throw new EngineError("EXISTS", `group snapshot ${name} already exists`);
    await clearAbandonedAttempt(deps, name);
    const volumes = await Promise.all(ids.map((id) => memberVolume(store, id, name)));
    // After the checks above: every snapshot of this name on these volumes from now on is ours.
    const intent: GroupSnapshotAttempt = { v: RECORD_VERSION, name, session, volumes: ids, startedAt: new Date().toISOString() };
    const intentRevision = await store.create(groupSnapshotKeys.attempt(name), intent);
    if (intentRevision === null) throw new EngineError("BUSY", `group snapshot ${name} is being taken by another request`);
    return await attempt(deps, name, volumes, deadlineMs, session, intentRevision);
  } finally {
    await claim.revoke();
  }
}

/**
 * Removes what an earlier attempt of `name` left when its coordinator died (its attempt record
 * is still there; we hold the name's claim, so it is not running): each of its volumes' snapshots
 * of that name taken since it started. Refuses, naming the volumes and why, when one cannot be
 * removed now (its target down); the attempt record stays for the next try.
 */
async function clearAbandonedAttempt(deps: GroupSnapshotDeps, name: string): Promise<void> {
  const found = await deps.store.get(groupSnapshotKeys.attempt(name), groupSnapshotAttemptSchema);
  if (!found) return;
  const abandoned = found.value;
  const since = Date.parse(abandoned.startedAt) - ATTEMPT_CLOCK_SKEW_MS;
  const left = await removeOnce(deps, name, new Map(abandoned.volumes.map((v) => [v, (entry: SnapshotRecord) => Date.parse(entry.createdAt) >= since] as const)));
  if (left.size > 0) {
    const reasons = [...left].map(([volume, why]) => `${volume} (${why})`).join("; ");
    throw new EngineError("BUSY", `group snapshot ${name}: an earlier attempt started at ${abandoned.startedAt} did not finish, and its snapshots of ${reasons} cannot be removed now; try again once those volumes are served`);
  }
  await deps.store.compareAndDelete(groupSnapshotKeys.attempt(name), found.revision);
  deps.log?.info({ group: name, volumes: abandoned.volumes, startedAt: abandoned.startedAt }, "group snapshot: removed what an abandoned attempt left");
}

/** What became of a volume's snapshot in a failed attempt, for its cleanup. */
type Outcome = { taken: SnapshotRecord } | "refused-exists" | "unknown";

async function attempt(deps: GroupSnapshotDeps, name: string, volumes: VolumeRecord[], deadlineMs: number, session: string, intentRevision: string): Promise<GroupSnapshotRecord> {
  const { store, participants } = deps;
  const ids = volumes.map((v) => v.id);
  try {
    await participants.prepare?.(volumes, session);
  } catch (err) {
    // Nothing was held or taken: the attempt is over before it began.
    await store.compareAndDelete(groupSnapshotKeys.attempt(name), intentRevision).catch(() => undefined);
    throw err;
  }
  const started = performance.now();
  const deadline = new Deadline(deadlineMs);
  const outcomes = new Map<string, Outcome>();
  const taken = new Map<string, { snapshot: SnapshotRecord; pauseMs: number; resumedAt?: number | undefined }>();
  try {
    const quiesced = new Set<string>();
    await deadline.race(
      Promise.all(
        volumes.map(async (v) => {
          await participants.quiesce(v, session, Math.max(1, Math.ceil(deadline.remainingMs)));
          quiesced.add(v.id);
        }),
      ),
      () => `volumes ${ids.filter((id) => !quiesced.has(id)).join(", ")} were not quiesced`,
    );
    // Every volume holds still now: this moment is the group's point. Each volume's snapshot is
    // its state throughout its own hold, which includes this moment, so each may resume as soon
    // as its own snapshot is taken.
    await deadline.race(
      Promise.all(
        volumes.map(async (v) => {
          outcomes.set(v.id, "unknown");
          try {
            const t = await participants.snapshot(v, session, name);
            outcomes.set(v.id, { taken: t.snapshot });
            taken.set(v.id, t);
          } catch (err) {
            // Someone else's snapshot of that name (made since the check): not ours to remove.
            if (err instanceof EngineError && err.code === "EXISTS") outcomes.set(v.id, "refused-exists");
            throw err;
          }
        }),
      ),
      () => `the snapshots of ${ids.filter((id) => !taken.has(id)).join(", ")} were not taken`,
    );
  } catch (err) {
    deadline.clear();
    await resumeAll(participants, volumes, session);
    participants.finish?.(session);
    await removeSnapshots(deps, name, outcomes, intentRevision);
    deps.log?.warn({ group: name, volumes: ids, ms: Math.round(performance.now() - started), err: err instanceof Error ? err.message : String(err) }, "group snapshot failed");
    throw err instanceof EngineError ? new EngineError(err.code, `group snapshot ${name}: ${err.message}`, { cause: err }) : err;
  }
  deadline.clear();
  participants.finish?.(session);

  const record: GroupSnapshotRecord = {
    v: RECORD_VERSION,
    name,
    createdAt: new Date().toISOString(),
    volumes: volumes.map((v) => {
      const t = taken.get(v.id);
      if (!t) throw new Error(`group ${name}: no snapshot of ${v.id} after all were taken`);
      const s = t.snapshot;
      return { volume: v.id, snapshot: s.name, createdAt: s.createdAt, replicaIds: s.replicaIds, ...(s.sizeBytes === undefined ? {} : { sizeBytes: s.sizeBytes }), pauseMs: round(t.pauseMs) };
    }),
    pause: { ...summarise([...taken.values()].map((t) => t.pauseMs)), ...span([...taken.values()]) },
  };
  // Every volume runs again: the group record replaces our attempt record, only if that is still
  // ours (a coordinator cut off past its claim finds the next attempt has cleared it).
  let created: string | null;
  try {
    created = await store.createConsuming(groupSnapshotKeys.group(name), record, { key: groupSnapshotKeys.attempt(name), revision: intentRevision });
  } catch (err) {
    // The transaction may have landed before its answer was lost: then the group is taken.
    const landed = (await store.get(groupSnapshotKeys.group(name), groupSnapshotRecordSchema).catch(() => null))?.value;
    if (landed?.createdAt === record.createdAt) return landed;
    await removeSnapshots(deps, name, outcomes, intentRevision);
    throw err;
  }
  if (created === null) {
    await removeSnapshots(deps, name, outcomes, null);
    throw new EngineError("BUSY", `group snapshot ${name}: another attempt of that name took over while this one recorded it (this coordinator lost its claim); its snapshots were removed`);
  }
  deps.log?.info({ group: name, volumes: ids, pauseMaxMs: record.pause.maxMs, pauseP50Ms: record.pause.p50Ms }, "group snapshot taken");
  return record;
}

export async function listGroupSnapshots(store: ConsensusStore): Promise<GroupSnapshotRecord[]> {
  return (await store.list(groupSnapshotKeys.prefix, groupSnapshotRecordSchema)).map((g) => g.value);
}

export async function getGroupSnapshot(store: ConsensusStore, name: string): Promise<GroupSnapshotRecord> {
  const found = await store.get(groupSnapshotKeys.group(name), groupSnapshotRecordSchema);
  if (!found) throw new EngineError("NOT_FOUND", `group snapshot ${name} not found`);
  return found.value;
}

/**
 * Deletes each volume's snapshot of the group (one already gone, or a volume
 * deleted since, is skipped), then the group record: a delete that fails
 * part-way leaves the group listed, to be deleted again.
 */
export async function deleteGroupSnapshot(deps: Pick<GroupSnapshotDeps, "store" | "deleteSnapshot" | "log">, name: string): Promise<void> {
  const group = await getGroupSnapshot(deps.store, name);
  const results = await Promise.allSettled(group.volumes.map((m) => deps.deleteSnapshot(m.volume, m.snapshot).catch(ignoreNotFound)));
  const failed = group.volumes.flatMap((m, i) => {
    const r = results[i];
    return r?.status === "rejected" ? [`${m.volume}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [];
  });
  if (failed.length > 0) {
    const code = results.some((r) => r.status === "rejected" && r.reason instanceof EngineError && r.reason.code === "NO_TARGET") ? "NO_TARGET" : "BUSY";
    throw new EngineError(code, `group snapshot ${name}: could not delete the snapshot of ${failed.join("; ")}; the group is kept, delete it again`);
  }
  await deps.store.delete(groupSnapshotKeys.group(name));
  deps.log?.info({ group: name }, "group snapshot deleted");
}

/**
 * The participants of a cluster reached through each target node's admin
 * endpoint (the node record's), as other requests only a target can carry
 * out are forwarded.
 */
export function adminParticipants(store: ConsensusStore): GroupParticipants {
  /** `session/volume` → the target's node and admin endpoint, found by `prepare`. */
  const found = new Map<string, { nodeId: string; admin: string }>();
  const endpoint = async (v: VolumeRecord, session: string): Promise<{ nodeId: string; admin: string }> => {
    const known = found.get(`${session}/${v.id}`);
    if (known) return known;
    const nodeId = v.target?.nodeId;
    if (nodeId === undefined) throw new EngineError("NO_TARGET", `volume ${v.id} has no target`);
    const admin = (await store.get(keys.node(nodeId), nodeRecordSchema))?.value.admin;
    if (admin === undefined) throw new EngineError("NO_TARGET", `volume ${v.id}: its target node ${nodeId} is down`);
    return { nodeId, admin };
  };
  const call = async <T>(v: VolumeRecord, session: string, timeoutMs: number, op: (admin: AdminClient) => Promise<T>): Promise<T> => {
    const { admin, nodeId } = await endpoint(v, session);
    try {
      return await op(new AdminClient(admin, { timeoutMs }));
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      if (err.code === "UNREACHABLE") throw new EngineError("NO_TARGET", `volume ${v.id}: its target node ${nodeId} is unreachable`, { cause: err });
      throw new EngineError(err.code, err.message.includes(v.id) ? err.message : `volume ${v.id}: ${err.message}`, { cause: err });
    }
  };
  return {
    prepare: async (volumes, session) => {
      for (const [v, e] of await Promise.all(volumes.map(async (v) => [v, await endpoint(v, session)] as const))) found.set(`${session}/${v.id}`, e);
    },
    quiesce: async (v, session, holdMs) => {
      await call(v, session, holdMs + 1_000, (a) => a.call(groupSnapshotApi.quiesce, { params: { session, volume: v.id }, body: { holdMs } }));
    },
    snapshot: (v, session, name) => call(v, session, SNAPSHOT_TIMEOUT_MS, (a) => a.call(groupSnapshotApi.snapshot, { params: { session, volume: v.id }, body: { name } })),
    resume: async (v, session) => (await call(v, session, RESUME_TIMEOUT_MS, (a) => a.call(groupSnapshotApi.resume, { params: { session, volume: v.id } }))).pauseMs,
    finish: (session) => {
      for (const key of [...found.keys()]) if (key.startsWith(`${session}/`)) found.delete(key);
    },
  };
}

/** What takeGroupSnapshot and deleteGroupSnapshot need, from a cluster node. */
export function groupSnapshotDeps(node: ClusterAdminOperations, log?: Logger): GroupSnapshotDeps {
  return {
    store: node.store,
    participants: adminParticipants(node.store),
    deleteSnapshot: (volume, name) => node.deleteVolumeSnapshot(volume, name),
    ...(log === undefined ? {} : { log }),
  };
}

/** A volume the group can include: it exists, is served, and has no snapshot of the group's name yet. */
async function memberVolume(store: ConsensusStore, id: string, name: string): Promise<VolumeRecord> {
  const v = (await store.get(keys.volume(id), volumeRecordSchema))?.value;
  if (!v) throw new EngineError("NOT_FOUND", `volumes: volume ${id} not found`);
  if (v.target === null) throw new EngineError("NO_TARGET", `volumes: volume ${id} has no target serving it`);
  if (v.populate !== undefined) throw new EngineError("BUSY", `volumes: volume ${id} is still being filled from its source`);
  if (v.snapshots.some((s) => s.name === name)) throw new EngineError("EXISTS", `volumes: volume ${id} already has a snapshot ${name}`);
  return v;
}

/**
 * Resumes every volume of a failed group, whatever state its quiesce is in (a
 * resume overtaking its quiesce cancels it). A volume whose target does not
 * answer resumes by itself at its deadline.
 */
async function resumeAll(participants: GroupParticipants, volumes: VolumeRecord[], session: string): Promise<void> {
  await Promise.allSettled(volumes.map((v) => participants.resume(v, session)));
}

/**
 * Removes a failed group's snapshots: each one taken (if its volume's record
 * still lists that very entry), and each one asked for whose answer was lost
 * (if the record lists one of that name). One whose target is down now is
 * retried in the background until the volume is served again. Once all are
 * gone, the attempt record (at `intentRevision`) goes too; while any is left,
 * it stays, so the next attempt of that name removes them first.
 */
async function removeSnapshots(deps: GroupSnapshotDeps, name: string, outcomes: Map<string, Outcome>, intentRevision: string | null): Promise<void> {
  const ours = new Map(
    [...outcomes].flatMap(([volume, o]) => {
      if (o === "refused-exists") return [];
      const createdAt = o === "unknown" ? null : o.taken.createdAt;
      return [[volume, (entry: SnapshotRecord) => createdAt === null || entry.createdAt === createdAt] as const];
    }),
  );
  const dropIntent = async (): Promise<void> => {
    if (intentRevision !== null) await deps.store.compareAndDelete(groupSnapshotKeys.attempt(name), intentRevision).catch(() => undefined);
  };
  const left = await removeOnce(deps, name, ours);
  if (left.size === 0) return dropIntent();
  deps.log?.warn({ group: name, volumes: [...left.keys()] }, "group snapshot cleanup deferred until the volumes are served again");
  const until = Date.now() + (deps.cleanupRetryMs ?? DEFAULT_CLEANUP_RETRY_MS);
  void (async () => {
    let pending = new Map([...left.keys()].flatMap((v) => {
      const match = ours.get(v);
      return match ? [[v, match] as const] : [];
    }));
    while (pending.size > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, CLEANUP_INTERVAL_MS).unref());
      const still = await removeOnce(deps, name, pending);
      pending = new Map([...pending].filter(([v]) => still.has(v)));
    }
    if (pending.size > 0) deps.log?.error({ group: name, volumes: [...pending.keys()] }, "group snapshot cleanup gave up; the next attempt of this name removes them, or delete these snapshots by hand");
    else await dropIntent();
  })();
}

/**
 * One pass over `volume → which entry of that name is ours`: the volumes
 * whose snapshot is still recorded as ours and could not be deleted now, with
 * why.
 */
async function removeOnce(deps: Pick<GroupSnapshotDeps, "store" | "deleteSnapshot">, name: string, ours: Map<string, (entry: SnapshotRecord) => boolean>): Promise<Map<string, string>> {
  const left = new Map<string, string>();
  await Promise.all(
    [...ours].map(async ([id, isOurs]) => {
      try {
        const v = (await deps.store.get(keys.volume(id), volumeRecordSchema))?.value;
        const entry = v?.snapshots.find((s) => s.name === name);
        if (!entry || !isOurs(entry)) return;
        await deps.deleteSnapshot(id, name).catch(ignoreNotFound);
      } catch (err) {
        left.set(id, err instanceof Error ? err.message : String(err));
      }
    }),
  );
  return left;
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof EngineError && err.code === "NOT_FOUND") return;
  throw err;
}

/**
 * From the first volume's hold to the last one's resume (ms, 0.1 ms precision), on the targets'
 * clocks: each hold began `pauseMs` before its `resumedAt`. Absent when a target did not say.
 */
function span(holds: Array<{ pauseMs: number; resumedAt?: number | undefined }>): { spanMs?: number } {
  const ends = holds.map((h) => h.resumedAt);
  if (holds.length === 0 || ends.some((e) => e === undefined)) return {};
  const first = Math.min(...holds.map((h) => (h.resumedAt ?? 0) - h.pauseMs));
  const last = Math.max(...holds.map((h) => h.resumedAt ?? 0));
  return { spanMs: round(Math.max(0, last - first)) };
}

/** Max and nearest-rank median of the volumes' pauses (ms, 0.1 ms precision). */
export function summarise(pauses: number[]): { maxMs: number; p50Ms: number } {
  if (pauses.length === 0) return { maxMs: 0, p50Ms: 0 };
  const sorted = [...pauses].sort((a, b) => a - b);
  return { maxMs: round(sorted[sorted.length - 1] ?? 0), p50Ms: round(sorted[Math.ceil(sorted.length / 2) - 1] ?? 0) };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** One timer for the whole group: every phase races it. */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private readonly end: number;
  private readonly expired: Promise<never>;
  private what: () => string = () => "the group was not complete";

  constructor(ms: number) {
    this.end = performance.now() + ms;
    this.expired = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => reject(new EngineError("BUSY", `${this.what()} within the ${ms} ms deadline; every volume resumed`)), ms);
    });
    // Observed by `race`; a deadline nobody races any more must not be an unhandled rejection.
    this.expired.catch(() => undefined);
  }

  get remainingMs(): number {
    return Math.max(0, this.end - performance.now());
  }

  race<T>(work: Promise<T>, what: () => string): Promise<T> {
    this.what = what;
    return Promise.race([work, this.expired]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
