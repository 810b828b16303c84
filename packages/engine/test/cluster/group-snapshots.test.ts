/**
 * Group snapshots on real node processes: three volumes served by three
 * different nodes, three writers each writing a sequence across them (A, then
 * B once A acknowledged, then C). Every group's snapshots, restored and read
 * back, form one consistent cut; the pause is measured and reported; the
 * request is validated naming the field; the CLI drives it; a target that
 * answers past the deadline and a target node killed mid-group fail the group
 * with nothing recorded or left behind, while the writers go on; a
 * coordinator that dies after every volume resumed but before the group is
 * recorded leaves no listed group, and a retry of the name cleans up and
 * succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { AdminClient } from "../../src/admin/client";
import { runCli } from "../../src/cli/run";
import { groupSnapshotAttemptSchema, groupSnapshotKeys, groupSnapshotRecordSchema, type GroupSnapshotRecord } from "../../src/consensus/records";
import { ConsensusStore, type LeaseHandle } from "../../src/consensus/store";
import { groupSnapshotApi, type GroupSnapshotDto } from "../../src/cluster/group-snapshot-api";
import { GroupSnapshotClient } from "../../src/cluster/group-snapshot-client";
import { adminParticipants, takeGroupSnapshot, type GroupParticipants, type GroupSnapshotDeps } from "../../src/cluster/group-snapshot";
import { EngineError } from "../../src/errors";
import { locator, openVolume, TestCluster } from "./harness";
import { SequenceWriter } from "./sequence-writer";

const VOLUMES = ["ga", "gb", "gc"] as const;
const TARGETS = { ga: "n1", gb: "n2", gc: "n3" } as const;
const MiB = 1024 * 1024;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, waitForStop: () => new Promise(() => undefined) });
  return { code, out, err };
}

async function post(admin: string, body: unknown): Promise<{ status: number; code?: string; message?: string }> {
  const res = await fetch(`http://${admin}${groupSnapshotApi.create.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, ...(json.error ? { code: json.error.code, message: json.error.message } : {}) };
}

describe("group snapshots across volumes on three targets", () => {
  let cluster: TestCluster;
  let groups: GroupSnapshotClient;
  const writers: SequenceWriter[] = [];
  let restoreCount = 0;

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodes: [
        { id: "n1", zone: "a" },
        { id: "n2", zone: "b" },
        { id: "n3", zone: "c" },
      ],
      leaseTtlSec: 2,
      requestTimeoutMs: 2000,
      quiet: true,
    });
    for (const v of VOLUMES) await cluster.client(TARGETS[v]).createVolume({ name: v, size: 16 * MiB, replicas: 2, target: TARGETS[v] });
    for (const v of VOLUMES) await cluster.waitAllInSync(v);
    groups = new GroupSnapshotClient(new AdminClient(cluster.admin("n2")));
    const locate = (volume: string) => locator(cluster, volume)();
    for (let block = 0; block < 3; block++) writers.push(new SequenceWriter({ volumes: [...VOLUMES], block, locate, seed: 7_000 + block }));
    for (const w of writers) w.start();
    await Promise.all(writers.map((w) => w.waitSteps(5)));
  });

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    await cluster?.stop();
  });

  /** The sequence number each writer's block holds in the volume's snapshot `name`, read back through a restored copy. */
  async function readSnapshot(volume: string, name: string): Promise<number[]> {
    const copy = `restore-${++restoreCount}`;
    await cluster.client("n1").createVolume({ name: copy, size: 16 * MiB, replicas: 1, source: { snapshot: { volume, name } } });
    const nbd = await openVolume(cluster, copy);
    try {
      const seqs: number[] = [];
      for (const w of writers) {
        const reply = await nbd.read(writers.indexOf(w) * 4096, 4096);
        expect(reply.error).toBe(0);
        seqs.push(w.decode(reply.data));
      }
      return seqs;
    } finally {
      nbd.close();
      await cluster.client("n1").deleteVolume(copy);
    }
  }

  /** Every writer's block across A, B, C is a cut its sequence could pass through. */
  async function expectConsistent(group: GroupSnapshotDto | GroupSnapshotRecord): Promise<void> {
    const [a, b, c] = await Promise.all(VOLUMES.map((v) => readSnapshot(v, group.name)));
    for (let i = 0; i < writers.length; i++) {
      const cut = { a: a?.[i] ?? -1, b: b?.[i] ?? -1, c: c?.[i] ?? -1 };
      // If C has N, A and B have at least N, and A at most N + 1 (its write of N + 1 in flight at the point).
      expect(cut.c, `writer ${i} cut ${JSON.stringify(cut)}`).toBeGreaterThan(0);
      expect(cut.b, `writer ${i} cut ${JSON.stringify(cut)}`).toBeGreaterThanOrEqual(cut.c);
      expect(cut.a, `writer ${i} cut ${JSON.stringify(cut)}`).toBeGreaterThanOrEqual(cut.b);
      expect(cut.a - cut.c, `writer ${i} cut ${JSON.stringify(cut)}`).toBeLessThanOrEqual(1);
    }
  }

  async function recorded(name: string): Promise<GroupSnapshotRecord | null> {
    return (await cluster.store.get(groupSnapshotKeys.group(name), groupSnapshotRecordSchema))?.value ?? null;
  }

  async function volumesListing(name: string): Promise<string[]> {
    const listing: string[] = [];
    for (const v of VOLUMES) if ((await cluster.volume(v))?.snapshots.some((s) => s.name === name)) listing.push(v);
    return listing;
  }

  it("validates the request and names the field", async () => {
    const admin = cluster.admin("n1");
    expect(await post(admin, { name: "Bad Name", volumes: ["ga"] })).toMatchObject({ status: 400, code: "INVALID", message: expect.stringMatching(/^name: /) as unknown });
    expect(await post(admin, { name: "g", volumes: ["ga", "Bad!"] })).toMatchObject({ status: 400, message: expect.stringMatching(/^volumes\.1: /) as unknown });
    expect(await post(admin, { name: "g", volumes: ["ga", "gb", "ga"] })).toMatchObject({ status: 400, message: "volumes.2: volume ga is listed twice" });
    expect(await post(admin, { name: "g", volumes: [] })).toMatchObject({ status: 400, message: expect.stringMatching(/^volumes: give at least one volume/) as unknown });
    expect(await post(admin, { name: "g", volumes: ["ga"], deadlineMs: 1 })).toMatchObject({ status: 400, message: expect.stringMatching(/^deadlineMs: /) as unknown });
    expect(await post(admin, { name: "g", volumes: ["ga"], extra: true })).toMatchObject({ status: 400, code: "INVALID", message: expect.stringMatching(/extra/) as unknown });
    expect(await post(admin, { name: "g", volumes: ["ga", "nope"] })).toMatchObject({ status: 404, code: "NOT_FOUND", message: "volumes: volume nope not found" });
    expect(await recorded("g")).toBeNull();
    expect(await volumesListing("g")).toEqual([]);
  });

  it("takes one consistent cut across the three targets under the writers, and reports the pause", async () => {
    const pauses: number[] = [];
    for (let round = 1; round <= 3; round++) {
      const before = writers.map((w) => w.completed);
      const group = await groups.create({ name: `cut-${round}`, volumes: [...VOLUMES] });
      expect(group.volumes.map((v) => v.volume)).toEqual([...VOLUMES]);
      for (const v of group.volumes) {
        expect(v.snapshot).toBe(`cut-${round}`);
        expect(v.replicaIds).toHaveLength(2);
        expect(v.pauseMs).toBeGreaterThan(0);
        expect(v.pauseMs).toBeLessThan(2_000);
      }
      expect(group.pause.maxMs).toBe(Math.max(...group.volumes.map((v) => v.pauseMs)));
      // From the first hold to the last resume: at least the longest hold, at most the request.
      expect(group.pause.spanMs).toBeGreaterThanOrEqual(group.pause.maxMs - 0.1);
      expect(group.pause.spanMs).toBeLessThan(2_000);
      expect(group.pause.p50Ms).toBeLessThanOrEqual(group.pause.maxMs);
      pauses.push(group.pause.maxMs);
      // Recorded in etcd as answered, and each volume's record lists its snapshot.
      expect((await recorded(group.name))?.volumes.map((v) => v.snapshot)).toEqual([group.name, group.name, group.name]);
      expect(await volumesListing(group.name)).toEqual([...VOLUMES]);
      await expectConsistent(group);
      // The writers were running across the group: they moved on since.
      await Promise.all(writers.map((w) => w.waitSteps(2)));
      expect(writers.every((w, i) => w.completed > (before[i] ?? 0))).toBe(true);
    }
    process.stderr.write(`group snapshot pause (max over volumes) per group: ${pauses.join(", ")} ms\n`);
    expect((await groups.list()).map((g) => g.name).sort()).toEqual(["cut-1", "cut-2", "cut-3"]);
  });

  it("is driven by 'stowage-engine snapshot group' create, list and delete", async () => {
    const admin = ["--admin", cluster.admin("n3")];
    const created = await cli(["snapshot", "group", "create", "by-cli", ...VOLUMES, "--deadline", "3000", ...admin]);
    expect(created.err).toBe("");
    expect(created.out).toMatch(/^created group snapshot by-cli of ga, gb, gc; writes held [\d.]+ ms at most \(median [\d.]+ ms\)\n$/);
    const listed = JSON.parse((await cli(["snapshot", "group", "list", "--json", ...admin])).out) as GroupSnapshotDto[];
    expect(listed.find((g) => g.name === "by-cli")?.volumes.map((v) => v.volume)).toEqual([...VOLUMES]);
    const again = await cli(["snapshot", "group", "create", "by-cli", "ga", ...admin]);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/group snapshot by-cli already exists/);
    const bad = await cli(["snapshot", "group", "create", "g2", "ga", "--deadline", "soon", ...admin]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--deadline/);
    expect((await cli(["snapshot", "group", "delete", "by-cli", ...admin])).out).toBe("deleted group snapshot by-cli\n");
    expect(await recorded("by-cli")).toBeNull();
    expect(await volumesListing("by-cli")).toEqual([]);
    const gone = await cli(["snapshot", "group", "delete", "by-cli", ...admin]);
    expect(gone.err).toMatch(/group snapshot by-cli not found/);
  });

  it("lets one of two concurrent requests for the same name take it, and keeps the winner's snapshots whole", async () => {
    const viaN1 = new GroupSnapshotClient(new AdminClient(cluster.admin("n1")));
    const viaN3 = new GroupSnapshotClient(new AdminClient(cluster.admin("n3")));
    const outcomes = await Promise.allSettled([viaN1.create({ name: "twice", volumes: [...VOLUMES] }), viaN3.create({ name: "twice", volumes: [...VOLUMES] })]);
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.flatMap((o): unknown[] => (o.status === "rejected" ? [o.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const refusal = lost[0];
    expect(refusal).toBeInstanceOf(EngineError);
    expect(["BUSY", "EXISTS"]).toContain(refusal instanceof EngineError ? refusal.code : "");
    const group = await recorded("twice");
    expect(group?.volumes).toHaveLength(3);
    // Every volume still lists the very snapshot the group records.
    for (const m of group?.volumes ?? []) expect((await cluster.volume(m.volume))?.snapshots.find((s) => s.name === "twice")?.createdAt).toBe(m.createdAt);
    await expectConsistent(group ?? { name: "twice", createdAt: "", volumes: [], pause: { maxMs: 0, p50Ms: 0 } });
    await groups.delete("twice");
    expect(await volumesListing("twice")).toEqual([]);
  });

  /** The coordinator in this process, through the nodes' admin endpoints, with `wrap` in between. */
  function coordinator(wrap: (real: GroupParticipants) => GroupParticipants): GroupSnapshotDeps {
    return {
      store: cluster.store,
      participants: wrap(adminParticipants(cluster.store)),
      deleteSnapshot: (volume, name) => cluster.client("n1").deleteSnapshot(volume, name),
      cleanupRetryMs: 30_000,
    };
  }

  it("fails past its deadline with every volume resumed and nothing kept", async () => {
    let groupFailed: () => void = () => undefined;
    const afterFailure = new Promise<void>((resolve) => (groupFailed = resolve));
    let late: Promise<unknown> | undefined;
    const deps = coordinator((real) => ({
      ...real,
      // gc's target answers only once the group has failed (a slow node): its hold has ended by then.
      snapshot: (v, session, name) => {
        if (v.id !== "gc") return real.snapshot(v, session, name);
        late = afterFailure.then(() => real.snapshot(v, session, name));
        return late.then(() => Promise.reject(new Error("answered after the group failed")));
      },
    }));
    const before = writers.map((w) => w.completed);
    const failed = takeGroupSnapshot(deps, { name: "late", volumes: [...VOLUMES], deadlineMs: 1_500 });
    await expect(failed).rejects.toBeInstanceOf(EngineError);
    await expect(failed).rejects.toMatchObject({ code: "BUSY", message: expect.stringMatching(/^group snapshot late: the snapshots of (ga, |gb, )*gc were not taken within the 1500 ms deadline/) as unknown });
    groupFailed();
    expect(await recorded("late")).toBeNull();
    // ga's and gb's were taken before the deadline, and are removed.
    expect(await volumesListing("late")).toEqual([]);
    await Promise.all(writers.map((w) => w.waitSteps(3)));
    expect(writers.every((w, i) => w.completed > (before[i] ?? 0))).toBe(true);
    // The late request finds gc's hold ended and takes nothing.
    await expect(late).rejects.toMatchObject({ code: "BUSY", message: expect.stringMatching(/gc is not held/) as unknown });
    expect(await volumesListing("late")).toEqual([]);
  });

  it("lists only complete groups after a coordinator dies between the resume and the group record, and a retry of the name succeeds", async () => {
    // A coordinator in this process on a store connection of its own, which freezes at the group
    // record (every volume snapshotted and running again) and then dies: its lease ends, as it
    // would once keep-alives stop, taking its claim on the name with it.
    let frozen: () => void = () => undefined;
    const reachedRecord = new Promise<void>((resolve) => (frozen = resolve));
    class DiesAtGroupRecord extends ConsensusStore {
      private readonly leases: LeaseHandle[] = [];
      override async grantLease(ttlSeconds: number): ReturnType<ConsensusStore["grantLease"]> {
        const lease = await super.grantLease(ttlSeconds);
        this.leases.push(lease);
        return lease;
      }
      override createConsuming(): Promise<string | null> {
        frozen();
        return new Promise<never>(() => undefined);
      }
      async die(): Promise<void> {
        for (const lease of this.leases) await lease.revoke();
        this.close();
      }
    }
    const dying = new DiesAtGroupRecord([cluster.etcd.endpoint]);
    const before = writers.map((w) => w.completed);
    void takeGroupSnapshot({ ...coordinator((real) => real), store: dying }, { name: "orphan", volumes: [...VOLUMES] });
    await reachedRecord;
    await dying.die();

    // Every volume has its snapshot and runs again; the group is not listed, its attempt is.
    expect(await volumesListing("orphan")).toEqual([...VOLUMES]);
    const orphaned = await Promise.all(VOLUMES.map(async (v) => (await cluster.volume(v))?.snapshots.find((s) => s.name === "orphan")?.createdAt));
    expect((await groups.list()).map((g) => g.name)).not.toContain("orphan");
    await expect(groups.get("orphan")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await cluster.store.get(groupSnapshotKeys.attempt("orphan"), groupSnapshotAttemptSchema))?.value.volumes).toEqual([...VOLUMES]);
    await Promise.all(writers.map((w) => w.waitSteps(2)));
    expect(writers.every((w, i) => w.completed > (before[i] ?? 0))).toBe(true);

    // A retry that cannot remove one of them (gc's target unreachable, as this coordinator sees
    // it) says which and why, removes the others, and leaves the attempt for the next retry.
    const cutOff = coordinator((real) => real);
    const refused = takeGroupSnapshot(
      { ...cutOff, deleteSnapshot: (volume, name) => (volume === "gc" ? Promise.reject(new EngineError("NO_TARGET", "volume gc: its target node n3 is unreachable")) : cutOff.deleteSnapshot(volume, name)) },
      { name: "orphan", volumes: [...VOLUMES] },
    );
    await expect(refused).rejects.toMatchObject({
      code: "BUSY",
      message: expect.stringMatching(/^group snapshot orphan: an earlier attempt started at \S+ did not finish, and its snapshots of gc \(volume gc: its target node n3 is unreachable\) cannot be removed now; try again once those volumes are served$/) as unknown,
    });
    expect(await volumesListing("orphan")).toEqual(["gc"]);
    expect(await cluster.store.get(groupSnapshotKeys.attempt("orphan"), groupSnapshotAttemptSchema)).not.toBeNull();

    // The retry through a node removes what is left and takes the group anew (a moment of BUSY
    // while the dead claim's end reaches every etcd member is tolerated).
    const retried = await pollUntil(
      async () => {
        try {
          return await groups.create({ name: "orphan", volumes: [...VOLUMES] });
        } catch (err) {
          if (err instanceof EngineError && err.code === "BUSY" && /being taken by another request/.test(err.message)) return undefined;
          throw err;
        }
      },
      { what: "the retry of the dead coordinator's group", timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(retried.volumes.map((v) => v.volume)).toEqual([...VOLUMES]);
    for (const [i, m] of retried.volumes.entries()) {
      expect(m.createdAt).not.toBe(orphaned[i]);
      expect((await cluster.volume(m.volume))?.snapshots.filter((s) => s.name === "orphan").map((s) => s.createdAt)).toEqual([m.createdAt]);
    }
    expect((await groups.list()).map((g) => g.name)).toContain("orphan");
    expect(await cluster.store.get(groupSnapshotKeys.attempt("orphan"), groupSnapshotAttemptSchema)).toBeNull();
    await expectConsistent(retried);
    await groups.delete("orphan");
    expect(await volumesListing("orphan")).toEqual([]);
  });

  it("fails when a target node is killed mid-group, removes what it took, and the writers go on", async () => {
    let killed = false;
    const deps = coordinator((real) => ({
      ...real,
      // Every volume is quiesced when the snapshots are asked for: kill gc's target node then.
      snapshot: async (v, session, name) => {
        if (v.id === "gc") {
          await cluster.kill(TARGETS.gc);
          killed = true;
        }
        return real.snapshot(v, session, name);
      },
    }));
    const before = writers.map((w) => w.completed);
    const failed = takeGroupSnapshot(deps, { name: "killed", volumes: [...VOLUMES] });
    await expect(failed).rejects.toMatchObject({ code: "NO_TARGET", message: expect.stringMatching(/volume gc: its target node n3 is unreachable/) as unknown });
    expect(killed).toBe(true);
    expect(await recorded("killed")).toBeNull();
    expect((await groups.list()).map((g) => g.name)).not.toContain("killed");
    // ga and gb were snapshotted before the failure; their snapshots go (gc's, if any, once it is served again).
    await pollUntil(async () => (await volumesListing("killed")).length === 0, { what: "the killed group's snapshots to be removed", timeoutMs: 30_000 });
    // gc moves to its other replica's node; every writer gets through all three volumes again.
    await Promise.all(writers.map((w) => w.waitSteps(3, 45_000)));
    expect(writers.every((w, i) => w.completed > (before[i] ?? 0))).toBe(true);
    expect((await cluster.volume("gc"))?.target?.nodeId).not.toBe(TARGETS.gc);
  });
});
