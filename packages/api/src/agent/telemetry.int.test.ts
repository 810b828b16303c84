import { gzipSync } from "node:zlib";
import { agentErrorSchema, MAX_TELEMETRY_BYTES, MAX_TELEMETRY_COMPRESSED_BYTES, telemetryResponseSchema } from "@stowage/agent-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionRepository } from "../repositories/partitions";
import { batch, inventory, poolSample, registerCluster, sendBatch, testClock, volumeSample, type TestCluster } from "../test-support/agent";
import { createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

const clock = testClock(new Date("2026-11-21T12:00:30.000Z"));
const MIN = 60_000;

describe("telemetry ingest /api/agent/v1/telemetry", () => {
  let t: TestApi;
  let a: TestOrg;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "alpha");
  });
  afterAll(async () => {
    await t.close();
  });

  const counts = async (clusterId: string) => ({
    volumeSamples: await t.api.prisma.volumeSample.count({ where: { clusterId } }),
    poolSamples: await t.api.prisma.poolSample.count({ where: { clusterId } }),
    batches: await t.api.prisma.telemetryBatch.count({ where: { clusterId } }),
    nodes: await t.api.prisma.node.count({ where: { clusterId } }),
    volumes: await t.api.prisma.volume.count({ where: { clusterId } }),
  });

  const accept = async (c: TestCluster, b: Parameters<typeof sendBatch>[2]) => {
    const res = await sendBatch(t.api, c.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
    return telemetryResponseSchema.parse(await res.json());
  };

  const refusal = async (res: Response) => ({ status: res.status, error: agentErrorSchema.parse(await res.json()).error });

  it("creates the partitions it needs on a fresh database, then stores inventory and samples", async () => {
    const parts = partitionRepository(t.api.pool);
    expect(await parts.list("volume_sample")).toEqual([]);
    const c = await registerCluster(t.api, a.id);
    const now = clock.now();
    const res = await accept(
      c,
      batch({
        inventory: inventory({ nodes: 3, volumes: 2 }),
        volumeSamples: [volumeSample("vol-0", new Date(now.getTime() - 10_000)), volumeSample("vol-0", now, { readIops: 300 }), volumeSample("vol-1", now, { readIops: 10 })],
        poolSamples: [poolSample("node-0", now, 1000, 500)],
        droppedBatches: 2,
      }),
    );
    expect(res).toMatchObject({ accepted: true, duplicate: false });
    expect((await parts.list("volume_sample")).map((p) => p.name)).toContain("volume_sample_p20261121");
    expect(await counts(c.clusterId)).toEqual({ volumeSamples: 3, poolSamples: 1, batches: 1, nodes: 3, volumes: 2 });
    const node = await t.api.prisma.node.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "node-0" } });
    // The pool sample is newer than the inventory's pool figures.
    expect(node).toMatchObject({ zone: "a", rack: "r0", status: "up", poolCapacityBytes: 1000n, poolAllocatedBytes: 500n, organizationId: a.id });
    expect(await t.api.prisma.replica.count({ where: { clusterId: c.clusterId } })).toBe(4);
    expect(await t.api.prisma.snapshot.count({ where: { clusterId: c.clusterId } })).toBe(2);
    const state = await t.api.prisma.clusterTelemetry.findUniqueOrThrow({ where: { clusterId: c.clusterId } });
    // Current figures: the newest sample per volume, summed.
    expect(state).toMatchObject({ nodeCount: 3, nodesUp: 3, volumeCount: 2, droppedBatches: 2n, batchesReceived: 1n, readIops: 310, capacityBytes: 3000n, allocatedBytes: 700n });
  });

  it("stores a replayed batch once and says it was a duplicate", async () => {
    const c = await registerCluster(t.api, a.id);
    const b = batch({ inventory: inventory(), volumeSamples: [volumeSample("vol-0", clock.now())], droppedBatches: 1 });
    expect((await accept(c, b)).duplicate).toBe(false);
    const replies = await Promise.all([accept(c, b), accept(c, b)]);
    expect(replies.map((r) => r.duplicate)).toEqual([true, true]);
    expect(await counts(c.clusterId)).toMatchObject({ volumeSamples: 1, batches: 1 });
    const state = await t.api.prisma.clusterTelemetry.findUniqueOrThrow({ where: { clusterId: c.clusterId } });
    expect(state).toMatchObject({ batchesReceived: 1n, droppedBatches: 1n });
  });

  it("upserts inventory and removes what the agent no longer lists, for that cluster only", async () => {
    const c = await registerCluster(t.api, a.id);
    const other = await registerCluster(t.api, a.id);
    await accept(other, batch({ inventory: inventory({ nodes: 3, volumes: 2 }) }));
    await accept(c, batch({ inventory: inventory({ nodes: 3, volumes: 3 }) }));
    const before = await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-0" } });
    const inv = inventory({ nodes: 2, volumes: 1, replicaState: { "vol-0-r1": "resyncing" } });
    const r1 = inv.replicas.find((r) => r.id === "vol-0-r1");
    if (r1) r1.progress = 0.4;
    await accept(c, batch({ inventory: inv }));
    expect(await counts(c.clusterId)).toMatchObject({ nodes: 2, volumes: 1 });
    expect(await t.api.prisma.replica.findMany({ where: { clusterId: c.clusterId }, orderBy: { externalId: "asc" }, select: { externalId: true, state: true, progress: true } })).toEqual([
      { externalId: "vol-0-r0", state: "healthy", progress: null },
      { externalId: "vol-0-r1", state: "resyncing", progress: 0.4 },
    ]);
    // Same row (our id is stable across upserts).
    expect((await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-0" } })).id).toBe(before.id);
    expect(await counts(other.clusterId)).toMatchObject({ nodes: 3, volumes: 2 });
    // An older inventory (agent clock) delivered late does not undo the newer one.
    await accept(c, batch({ sentAt: new Date(Date.now() - 3600_000).toISOString(), inventory: inventory({ nodes: 3, volumes: 3 }) }));
    expect(await counts(c.clusterId)).toMatchObject({ nodes: 2, volumes: 1 });
  });

  it("applies an inventory only when it changed, still removing what is gone, and never an older one", async () => {
    const c = await registerCluster(t.api, a.id);
    const sentAt = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    await accept(c, batch({ sentAt: sentAt(-3000), inventory: inventory({ nodes: 3, volumes: 2 }) }));
    // Changed behind the agent's back: an unchanged inventory is not applied again, so this stays.
    await t.api.prisma.volume.updateMany({ where: { clusterId: c.clusterId, externalId: "vol-0" }, data: { name: "renamed-here" } });
    const unchangedAt = sentAt(-2000);
    await accept(c, batch({ sentAt: unchangedAt, inventory: inventory({ nodes: 3, volumes: 2 }) }));
    expect((await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-0" } })).name).toBe("renamed-here");
    // It still counts as the newest inventory seen.
    expect((await t.api.prisma.clusterTelemetry.findUniqueOrThrow({ where: { clusterId: c.clusterId } })).inventorySentAt?.toISOString()).toBe(unchangedAt);

    // A changed inventory is applied in full: upserted, and what it no longer lists removed.
    await accept(c, batch({ sentAt: sentAt(-1000), inventory: inventory({ nodes: 2, volumes: 1, replicaState: { "vol-0-r1": "faulted" } }) }));
    expect(await counts(c.clusterId)).toMatchObject({ nodes: 2, volumes: 1 });
    expect((await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-0" } })).name).toBe("pvc-vol-0");
    expect(await t.api.prisma.replica.findMany({ where: { clusterId: c.clusterId }, orderBy: { externalId: "asc" }, select: { externalId: true, state: true } })).toEqual([
      { externalId: "vol-0-r0", state: "healthy" },
      { externalId: "vol-0-r1", state: "faulted" },
    ]);
    expect(await t.api.prisma.snapshot.count({ where: { clusterId: c.clusterId } })).toBe(1);
    expect(await t.api.prisma.clusterTelemetry.findUniqueOrThrow({ where: { clusterId: c.clusterId } })).toMatchObject({ volumeCount: 1, nodeCount: 2 });

    // The first inventory again, but stamped before the one applied last: ignored.
    await accept(c, batch({ sentAt: sentAt(-2500), inventory: inventory({ nodes: 3, volumes: 2 }) }));
    expect(await counts(c.clusterId)).toMatchObject({ nodes: 2, volumes: 1 });
    // And stamped after it: applied, although it equals one applied before.
    await accept(c, batch({ sentAt: sentAt(0), inventory: inventory({ nodes: 3, volumes: 2 }) }));
    expect(await counts(c.clusterId)).toMatchObject({ nodes: 3, volumes: 2 });

    // A writer that records an inventory without its hash (the previous release, mid-deploy)
    // voids the hash: the same inventory as before is then applied again.
    await t.api.prisma.volume.updateMany({ where: { clusterId: c.clusterId, externalId: "vol-0" }, data: { name: "renamed-here" } });
    await t.api.prisma.clusterTelemetry.update({ where: { clusterId: c.clusterId }, data: { inventorySentAt: new Date(Date.now() + 500) } });
    await accept(c, batch({ sentAt: sentAt(1000), inventory: inventory({ nodes: 3, volumes: 2 }) }));
    expect((await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-0" } })).name).toBe("pvc-vol-0");
  });

  it("keeps a re-sent sample once when it comes in another batch, and stores the rest of that batch", async () => {
    const c = await registerCluster(t.api, a.id);
    const at = new Date(clock.now().getTime() - 20_000);
    await accept(c, batch({ volumeSamples: [volumeSample("vol-0", at, { readIops: 1 })], poolSamples: [poolSample("node-0", at, 1000, 100)] }));
    await accept(
      c,
      batch({
        volumeSamples: [volumeSample("vol-0", at, { readIops: 2 }), volumeSample("vol-1", at, { readIops: 3 }), volumeSample("vol-2", at, { readIops: 4 }), volumeSample("vol-2", at, { readIops: 5 })],
        poolSamples: [poolSample("node-0", at, 1000, 200), poolSample("node-1", at, 1000, 300)],
      }),
    );
    const samples = await t.api.prisma.volumeSample.findMany({ where: { clusterId: c.clusterId }, orderBy: { volumeId: "asc" }, select: { volumeId: true, readIops: true } });
    expect(samples).toEqual([
      { volumeId: "vol-0", readIops: 1 },
      { volumeId: "vol-1", readIops: 3 },
      { volumeId: "vol-2", readIops: 4 },
    ]);
    const pools = await t.api.prisma.poolSample.findMany({ where: { clusterId: c.clusterId }, orderBy: { nodeId: "asc" }, select: { nodeId: true, allocatedBytes: true } });
    expect(pools).toEqual([
      { nodeId: "node-0", allocatedBytes: 100n },
      { nodeId: "node-1", allocatedBytes: 300n },
    ]);
    expect(await counts(c.clusterId)).toMatchObject({ batches: 2 });
  });

  it("keeps a sample once when its own batch lists it twice, with nothing stored before", async () => {
    const c = await registerCluster(t.api, a.id);
    const at = new Date(clock.now().getTime() - 20_000);
    const later = new Date(at.getTime() + 10_000);
    await accept(
      c,
      batch({
        volumeSamples: [volumeSample("vol-0", at, { readIops: 1 }), volumeSample("vol-0", later, { readIops: 2 }), volumeSample("vol-0", at, { readIops: 3 })],
        poolSamples: [poolSample("node-0", at, 1000, 100), poolSample("node-0", at, 1000, 200)],
      }),
    );
    const samples = await t.api.prisma.volumeSample.findMany({ where: { clusterId: c.clusterId }, orderBy: { at: "asc" }, select: { readIops: true } });
    expect(samples).toEqual([{ readIops: 1 }, { readIops: 2 }]);
    const pools = await t.api.prisma.poolSample.findMany({ where: { clusterId: c.clusterId }, select: { allocatedBytes: true } });
    expect(pools).toEqual([{ allocatedBytes: 100n }]);
  });

  it("refuses clock-skewed samples naming the field, and stores nothing of that batch", async () => {
    const c = await registerCluster(t.api, a.id);
    await accept(c, batch({ inventory: inventory(), volumeSamples: [volumeSample("vol-0", clock.now())] }));
    const before = await counts(c.clusterId);
    const future = await refusal(
      await sendBatch(t.api, c.credential, batch({ inventory: inventory({ volumes: 0 }), volumeSamples: [volumeSample("vol-0", clock.now()), volumeSample("vol-1", new Date(clock.now().getTime() + 11 * MIN))] })),
    );
    expect(future.status).toBe(422);
    expect(future.error.code).toBe("INVALID_REQUEST");
    expect(future.error.message).toContain("volumeSamples.1.at");
    expect(future.error.details).toEqual([expect.objectContaining({ path: "volumeSamples.1.at" })]);
    const old = await refusal(await sendBatch(t.api, c.credential, batch({ poolSamples: [poolSample("node-0", new Date(clock.now().getTime() - 3 * 24 * 60 * MIN))] })));
    expect(old.status).toBe(422);
    expect(old.error.message).toContain("poolSamples.0.at");
    expect(old.error.message).toContain("retention");
    expect(await counts(c.clusterId)).toEqual(before);
  });

  it("answers bad requests clearly: credential, JSON, schema, gzip, sizes and gzip bombs", async () => {
    const c = await registerCluster(t.api, a.id);
    await accept(c, batch({ inventory: inventory(), volumeSamples: [volumeSample("vol-0", clock.now())] }));
    const before = await counts(c.clusterId);
    const good = batch({ volumeSamples: [volumeSample("vol-0", new Date(clock.now().getTime() - 1000))] });

    expect(await refusal(await sendBatch(t.api, null, good))).toMatchObject({ status: 401, error: { code: "UNAUTHORIZED" } });
    expect(await refusal(await sendBatch(t.api, "stc_wrong", good))).toMatchObject({ status: 401, error: { code: "UNAUTHORIZED" } });
    expect(await refusal(await sendBatch(t.api, c.credential, "{nope"))).toMatchObject({ status: 400, error: { code: "INVALID_REQUEST" } });
    const badField = await refusal(await sendBatch(t.api, c.credential, JSON.stringify({ ...good, batchId: "not-a-uuid" })));
    expect(badField).toMatchObject({ status: 422, error: { details: [expect.objectContaining({ path: "batchId" })] } });
    const dupIds = await refusal(await sendBatch(t.api, c.credential, batch({ inventory: { ...inventory(), nodes: [...inventory().nodes, ...inventory().nodes] } })));
    expect(dupIds).toMatchObject({ status: 422, error: { details: [expect.objectContaining({ path: "inventory.nodes.3.id" })] } });
    const notGzip = await t.api.handlers.agent(
      new Request("http://localhost:3000/api/agent/v1/telemetry", { method: "POST", headers: { authorization: `Bearer ${c.credential}`, "content-encoding": "gzip" }, body: "plain" }),
    );
    expect(await refusal(notGzip)).toMatchObject({ status: 400, error: { code: "INVALID_REQUEST" } });

    // A bomb: a few KiB on the wire that would inflate far past the limit.
    const bomb = gzipSync(Buffer.alloc(MAX_TELEMETRY_BYTES + 1024 * 1024, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_TELEMETRY_COMPRESSED_BYTES);
    const bombRes = await t.api.handlers.agent(
      new Request("http://localhost:3000/api/agent/v1/telemetry", { method: "POST", headers: { authorization: `Bearer ${c.credential}`, "content-encoding": "gzip" }, body: bomb }),
    );
    expect(await refusal(bombRes)).toMatchObject({ status: 413, error: { code: "PAYLOAD_TOO_LARGE" } });
    const huge = await t.api.handlers.agent(
      new Request("http://localhost:3000/api/agent/v1/telemetry", {
        method: "POST",
        headers: { authorization: `Bearer ${c.credential}`, "content-encoding": "gzip" },
        body: Buffer.alloc(MAX_TELEMETRY_COMPRESSED_BYTES + 1),
      }),
    );
    expect(await refusal(huge)).toMatchObject({ status: 413, error: { code: "PAYLOAD_TOO_LARGE" } });
    expect(await counts(c.clusterId)).toEqual(before);
    // The agent's next good batch goes through.
    expect((await accept(c, good)).duplicate).toBe(false);
  });

  it("accepts a small body that inflates past the inline limit (a backfill of many samples), inflating it off the event loop", async () => {
    const c = await registerCluster(t.api, a.id);
    await accept(c, batch({ inventory: inventory() }));
    const now = clock.now().getTime();
    const samples = Array.from({ length: 6000 }, (_, i) => volumeSample("vol-0", new Date(now - 1000 - i * 50)));
    const text = JSON.stringify(batch({ volumeSamples: samples }));
    // Preconditions of what this checks: under the inline wire size, over the inline output size.
    expect(gzipSync(text).length).toBeLessThan(64 * 1024);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    const before = await counts(c.clusterId);
    expect((await accept(c, text)).accepted).toBe(true);
    expect((await counts(c.clusterId)).volumeSamples).toBe(before.volumeSamples + 6000);
  });

  it("keeps per-cluster telemetry apart: a batch only ever writes the credential's own cluster", async () => {
    const c = await registerCluster(t.api, a.id);
    const b = await registerCluster(t.api, a.id);
    await accept(c, batch({ inventory: inventory({ volumes: 1 }) }));
    expect(await counts(b.clusterId)).toMatchObject({ nodes: 0, volumes: 0 });
  });
});
