import { heartbeatResponseSchema } from "@stowage/agent-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionRepository } from "../repositories/partitions";
import { agentRequest, batch, inventory, poolSample, registerCluster, sendBatch, testClock, volumeSample, type TestCluster } from "../test-support/agent";
import { callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

const clock = testClock(new Date("2026-11-21T12:05:30.000Z"));
const at = (iso: string) => new Date(iso);

describe("maintenance: rollups, retention and partitions", () => {
  let t: TestApi;
  let a: TestOrg;
  let c: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "alpha");
    c = await registerCluster(t.api, a.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const send = async (b: Parameters<typeof sendBatch>[2]) => {
    const res = await sendBatch(t.api, c.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it("rolls raw samples up into minutes and hours with the documented arithmetic", async () => {
    await send(
      batch({
        inventory: inventory({ nodes: 1, volumes: 2 }),
        volumeSamples: [
          volumeSample("vol-0", at("2026-11-21T12:00:00Z"), { readIops: 100, latencyP50Us: 100, latencyP99Us: 500, ioErrors: 0, usedBytes: 10 }),
          volumeSample("vol-0", at("2026-11-21T12:00:10Z"), { readIops: 200, latencyP50Us: 200, latencyP99Us: 900, ioErrors: 1, usedBytes: 30 }),
          volumeSample("vol-0", at("2026-11-21T12:00:20Z"), { readIops: 300, latencyP50Us: 300, latencyP99Us: 700, ioErrors: 2, usedBytes: 20 }),
          volumeSample("vol-1", at("2026-11-21T12:00:05Z"), { readIops: 50, latencyP50Us: 400, latencyP99Us: 600 }),
          volumeSample("vol-0", at("2026-11-21T12:01:00Z"), { readIops: 600, latencyP50Us: 100, latencyP99Us: 100 }),
        ],
        poolSamples: [poolSample("node-0", at("2026-11-21T12:00:00Z"), 1000, 100), poolSample("node-0", at("2026-11-21T12:00:30Z"), 1000, 300)],
      }),
    );
    const first = await t.api.services.maintenance.rollup();
    expect(first.minutesTo?.toISOString()).toBe("2026-11-21T12:03:00.000Z");

    const m = await t.api.prisma.volumeSample1m.findFirstOrThrow({ where: { clusterId: c.clusterId, volumeId: "vol-0", bucket: at("2026-11-21T12:00:00Z") } });
    expect(m).toMatchObject({ samples: 3, readIops: 200, latencyP50Us: 200, latencyP99Us: 900, ioErrors: 3, usedBytes: 30n });
    const cm = await t.api.prisma.clusterMetric1m.findFirstOrThrow({ where: { clusterId: c.clusterId, bucket: at("2026-11-21T12:00:00Z") } });
    // Rates summed over volumes, p50 the mean of the volumes' p50, p99 the worst, pool capacity the minute's mean.
    expect(cm).toMatchObject({ readIops: 250, latencyP50Us: 300, latencyP99Us: 900, capacityBytes: 1000n, allocatedBytes: 200n, ioErrors: 3 });

    // An hour later the hour is complete: sample-weighted means, worst p99.
    clock.set(at("2026-11-21T13:03:00Z"));
    const second = await t.api.services.maintenance.rollup();
    expect(second.hoursTo?.toISOString()).toBe("2026-11-21T13:00:00.000Z");
    const h = await t.api.prisma.volumeSample1h.findFirstOrThrow({ where: { clusterId: c.clusterId, volumeId: "vol-0", bucket: at("2026-11-21T12:00:00Z") } });
    expect(h).toMatchObject({ samples: 4, readIops: 300, latencyP50Us: 175, latencyP99Us: 900, ioErrors: 3 });
    const ch = await t.api.prisma.clusterMetric1h.findFirstOrThrow({ where: { clusterId: c.clusterId, bucket: at("2026-11-21T12:00:00Z") } });
    expect(ch).toMatchObject({ readIops: (250 + 600) / 2, latencyP99Us: 900 });
  });

  it("recomputes buckets that late samples fall into", async () => {
    // Delivered from the agent's buffer after 12:00 was rolled up (minutes and hours).
    await send(batch({ volumeSamples: [volumeSample("vol-0", at("2026-11-21T12:00:30Z"), { readIops: 400, latencyP50Us: 200, latencyP99Us: 1000 })] }));
    expect(await t.api.prisma.rollupBackfill.count()).toBe(1);
    const r = await t.api.services.maintenance.rollup();
    expect(r.backfills).toBe(1);
    const m = await t.api.prisma.volumeSample1m.findFirstOrThrow({ where: { clusterId: c.clusterId, volumeId: "vol-0", bucket: at("2026-11-21T12:00:00Z") } });
    expect(m).toMatchObject({ samples: 4, readIops: 250, latencyP99Us: 1000 });
    const h = await t.api.prisma.volumeSample1h.findFirstOrThrow({ where: { clusterId: c.clusterId, volumeId: "vol-0", bucket: at("2026-11-21T12:00:00Z") } });
    expect(h).toMatchObject({ samples: 5, readIops: (250 * 4 + 600) / 5, latencyP99Us: 1000 });
    expect(await t.api.prisma.rollupBackfill.count()).toBe(0);
  });

  it("creates partitions ahead and drops those past retention", async () => {
    const parts = partitionRepository(t.api.pool);
    const report = await t.api.services.maintenance.runOnce();
    expect(report).not.toBeNull();
    const raw = (await parts.list("volume_sample")).map((p) => p.name);
    expect(raw).toEqual(expect.arrayContaining(["volume_sample_p20261121", "volume_sample_p20261122", "volume_sample_p20261123", "volume_sample_p20261124"]));
    expect((await parts.list("volume_sample_1h")).map((p) => p.name)).toContain("volume_sample_1h_p202611");

    // Three days on: the raw day 2026-11-21 is past the 2-day retention, its 1-minute rollup is not.
    clock.set(at("2026-11-24T00:30:00Z"));
    const later = await t.api.services.maintenance.runOnce();
    expect(later?.partitionsDropped).toEqual(expect.arrayContaining(["volume_sample_p20261121", "pool_sample_p20261121"]));
    expect((await parts.list("volume_sample")).map((p) => p.name)).not.toContain("volume_sample_p20261121");
    expect((await parts.list("volume_sample")).map((p) => p.name)).toContain("volume_sample_p20261127");
    expect(await t.api.prisma.volumeSample.count({ where: { clusterId: c.clusterId } })).toBe(0);
    expect(await t.api.prisma.volumeSample1m.count({ where: { clusterId: c.clusterId } })).toBeGreaterThan(0);
    // Past 14 days the minutes go too; hours stay.
    clock.set(at("2026-12-06T00:30:00Z"));
    await t.api.services.maintenance.runOnce();
    expect(await t.api.prisma.volumeSample1m.count({ where: { clusterId: c.clusterId } })).toBe(0);
    expect(await t.api.prisma.volumeSample1h.count({ where: { clusterId: c.clusterId } })).toBeGreaterThan(0);
  });
});

describe("alerts: open → resolve for every kind", () => {
  const aclock = testClock(new Date("2026-11-21T12:00:00.000Z"));
  let t: TestApi;
  let a: TestOrg;

  beforeAll(async () => {
    t = await createTestApi({ now: aclock.now });
    a = await createOrgWithRoles(t.api, "alpha");
  });
  afterAll(async () => {
    await t.close();
  });

  const send = async (c: TestCluster, b: Parameters<typeof sendBatch>[2]) => {
    const res = await sendBatch(t.api, c.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const alerts = async (clusterId: string, kind: string) =>
    (await t.api.prisma.alert.findMany({ where: { clusterId, kind: kind as never }, orderBy: { createdAt: "asc" } })).map((x) => ({ subject: x.subject, state: x.state, severity: x.severity, message: x.message }));

  it("node down", async () => {
    const c = await registerCluster(t.api, a.id);
    await send(c, batch({ inventory: inventory({ nodeDown: ["node-1"] }) }));
    await send(c, batch({ inventory: inventory({ nodeDown: ["node-1"] }) }));
    expect(await alerts(c.clusterId, "node_down")).toEqual([{ subject: "node-1", state: "open", severity: "critical", message: "Node node-1 is down" }]);
    await send(c, batch({ inventory: inventory() }));
    expect((await alerts(c.clusterId, "node_down")).map((x) => x.state)).toEqual(["resolved"]);
    // It goes down again: a new alert; the old one stays as history.
    await send(c, batch({ inventory: inventory({ nodeDown: ["node-1"] }) }));
    expect((await alerts(c.clusterId, "node_down")).map((x) => x.state)).toEqual(["resolved", "open"]);
  });

  it("replica degraded or resyncing, with severity by state", async () => {
    const c = await registerCluster(t.api, a.id);
    await send(c, batch({ inventory: inventory({ replicaState: { "vol-0-r1": "resyncing", "vol-1-r0": "faulted" } }) }));
    expect(await alerts(c.clusterId, "replica_degraded")).toEqual([
      expect.objectContaining({ subject: "vol-0-r1", state: "open", severity: "warning" }),
      expect.objectContaining({ subject: "vol-1-r0", state: "open", severity: "critical" }),
    ]);
    await send(c, batch({ inventory: inventory({ replicaState: { "vol-1-r0": "rebuilding" } }) }));
    const now = await alerts(c.clusterId, "replica_degraded");
    expect(now.find((x) => x.subject === "vol-0-r1")?.state).toBe("resolved");
    expect(now.find((x) => x.subject === "vol-1-r0")).toMatchObject({ state: "open", severity: "warning" });
    // A batch without inventory says nothing about replicas: nothing changes.
    await send(c, batch({ volumeSamples: [volumeSample("vol-0", aclock.now())] }));
    expect((await alerts(c.clusterId, "replica_degraded")).filter((x) => x.state === "open")).toHaveLength(1);
    await send(c, batch({ inventory: inventory() }));
    expect((await alerts(c.clusterId, "replica_degraded")).every((x) => x.state === "resolved")).toBe(true);
  });

  it("pool over 85 % full, without flapping just below the limit", async () => {
    const c = await registerCluster(t.api, a.id);
    await send(c, batch({ inventory: inventory({ nodes: 2 }), poolSamples: [poolSample("node-0", aclock.now(), 1000, 900)] }));
    expect(await alerts(c.clusterId, "pool_full")).toEqual([{ subject: "node-0", state: "open", severity: "warning", message: "Pool on node node-0 is 90 % full" }]);
    await send(c, batch({ poolSamples: [poolSample("node-0", aclock.now(), 1000, 840)] }));
    expect((await alerts(c.clusterId, "pool_full")).map((x) => x.state)).toEqual(["open"]);
    await send(c, batch({ poolSamples: [poolSample("node-0", aclock.now(), 1000, 500)] }));
    expect((await alerts(c.clusterId, "pool_full")).map((x) => x.state)).toEqual(["resolved"]);
    // Rising into the band from below does not open one.
    await send(c, batch({ poolSamples: [poolSample("node-1", aclock.now(), 1000, 840)] }));
    expect(await alerts(c.clusterId, "pool_full")).toHaveLength(1);
  });

  it("volume I/O errors", async () => {
    const c = await registerCluster(t.api, a.id);
    await send(c, batch({ inventory: inventory(), volumeSamples: [volumeSample("vol-0", aclock.now(), { ioErrors: 3 }), volumeSample("vol-1", aclock.now())] }));
    expect(await alerts(c.clusterId, "volume_io_errors")).toEqual([{ subject: "vol-0", state: "open", severity: "critical", message: "Volume vol-0 reported 3 I/O errors" }]);
    // Samples of another volume say nothing about vol-0.
    await send(c, batch({ volumeSamples: [volumeSample("vol-1", new Date(aclock.now().getTime() + 1000))] }));
    expect((await alerts(c.clusterId, "volume_io_errors")).map((x) => x.state)).toEqual(["open"]);
    await send(c, batch({ volumeSamples: [volumeSample("vol-0", new Date(aclock.now().getTime() + 2000))] }));
    expect((await alerts(c.clusterId, "volume_io_errors")).map((x) => x.state)).toEqual(["resolved"]);
  });

  it("cluster silent for over 2 minutes, ended by a heartbeat or telemetry", async () => {
    const c = await registerCluster(t.api, a.id);
    expect(await t.api.services.maintenance.checkSilence()).toBe(0);
    aclock.advance(121_000);
    expect(await t.api.services.maintenance.checkSilence()).toBeGreaterThanOrEqual(1);
    expect(await t.api.services.maintenance.checkSilence()).toBe(0);
    expect(await alerts(c.clusterId, "cluster_silent")).toEqual([expect.objectContaining({ subject: "cluster", state: "open", severity: "critical" })]);
    const hb = await t.api.handlers.agent(
      agentRequest("/heartbeat", {
        method: "POST",
        credential: c.credential,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ protocolVersion: 1, agentVersion: "0.1.0", sentAt: aclock.now().toISOString() }),
      }),
    );
    expect(heartbeatResponseSchema.parse(await hb.json()).clusterId).toBe(c.clusterId);
    expect((await alerts(c.clusterId, "cluster_silent")).map((x) => x.state)).toEqual(["resolved"]);
    aclock.advance(121_000);
    await t.api.services.maintenance.checkSilence();
    await send(c, batch({}));
    expect((await alerts(c.clusterId, "cluster_silent")).map((x) => x.state)).toEqual(["resolved", "resolved"]);

    // Listed through the API with filters, newest first.
    const viewer = callerFor(t.api, a.users.viewer, a.id);
    const listed = await viewer.alert.list({ clusterId: c.clusterId, kind: "cluster_silent" });
    expect(listed.items.map((x) => x.state)).toEqual(["resolved", "resolved"]);
    expect((await viewer.alert.list({ state: "open", kind: "cluster_silent" })).items.filter((x) => x.clusterId === c.clusterId)).toEqual([]);
  });
});
