/**
 * Capacity metered as observed, on real PostgreSQL through the agent endpoint: a batch delivered
 * late is metered at the sizes its samples carry, not at the volume's size when it arrives; a
 * replay, a retry under a new id or a second sample in the same minute changes nothing; a minute
 * without a sample stays unbilled; an older agent's batch (samples without sizes) is metered
 * from the volume table as before; and what the API remembers as metered never hides a minute that
 * grew or a showback weight that changed.
 */
import { randomUUID } from "node:crypto";
import type { Inventory } from "@stowage/agent-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "../actor";
import { batch, inventory, kubernetesClaim, kubernetesInventory, poolSample, registerCluster, sendBatch, testClock, volumeSample, type TestCluster } from "../test-support/agent";
import { createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

const GIB = 2 ** 30;
const clock = testClock(new Date("2026-12-02T12:00:00.000Z"));

/** Two volumes of 20 GiB and 4 GiB, two copies each, as the inventory holds them now. */
function inventoryNow(): Inventory {
  const inv = inventory({ nodes: 2, volumes: 2 });
  return { ...inv, volumes: inv.volumes.map((v) => ({ ...v, sizeBytes: (v.id === "vol-0" ? 20 : 4) * GIB })) };
}

describe("capacity metered as observed", () => {
  let t: TestApi;
  let a: TestOrg;
  let c: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "capacity-sampled");
    c = await registerCluster(t.api, a.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const accept = async (b: ReturnType<typeof batch>): Promise<void> => {
    const res = await sendBatch(t.api, c.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** The hour's per-minute provisioned and replicated GiB, and its byte-minute sums in GiB-minutes. */
  const hourRow = async (hour: string) => {
    const row = await t.api.prisma.billingCapacityHour.findUnique({ where: { organizationId_hour_clusterId: { organizationId: a.id, hour: new Date(hour), clusterId: c.clusterId } } });
    if (!row) return null;
    const gib = (xs: bigint[]) => xs.map((x) => Number(x) / GIB);
    return { provisioned: gib(row.provisionedBytes), replicated: gib(row.replicatedBytes), sums: [Number(row.provisionedByteMinutes) / GIB, Number(row.replicatedByteMinutes) / GIB] };
  };
  const minutes = (values: Record<number, number>) => Array.from({ length: 60 }, (_, m) => values[m] ?? 0);

  it("meters a late batch at the 10 GiB its samples say although the volume is 20 GiB now; replay, retry and a second sample in the minute change nothing", async () => {
    // The volume table now: the agent reconnected and sent today's inventory first.
    await accept(batch({ inventory: inventoryNow(), poolSamples: [poolSample("node-0", new Date("2026-12-02T11:59:00.000Z"))] }));
    expect(await t.api.prisma.volume.count({ where: { clusterId: c.clusterId, sizeBytes: 20n * BigInt(GIB) } })).toBe(1);

    // Buffered while disconnected: at 10:30 and 10:31 vol-0 was 10 GiB with two copies, vol-1 4 GiB
    // with three; at 10:31 the agent sampled vol-0 twice. 10:32 has no sample at all.
    const s1030 = new Date("2026-12-02T10:30:05.000Z");
    const s1031 = new Date("2026-12-02T10:31:10.000Z");
    const s1031b = new Date("2026-12-02T10:31:40.000Z");
    const late = batch({
      sentAt: "2026-12-02T10:31:50.000Z",
      volumeSamples: [
        volumeSample("vol-0", s1030, { sizeBytes: 10 * GIB, replicas: 2 }),
        volumeSample("vol-1", s1030, { sizeBytes: 4 * GIB, replicas: 3 }),
        volumeSample("vol-0", s1031, { sizeBytes: 10 * GIB, replicas: 2 }),
        volumeSample("vol-0", s1031b, { sizeBytes: 10 * GIB, replicas: 2 }),
      ],
      poolSamples: [poolSample("node-0", s1030)],
    });
    await accept(late);
    const expected = {
      provisioned: minutes({ 30: 14, 31: 10 }),
      replicated: minutes({ 30: 10 + 8, 31: 10 }),
      sums: [24, 28],
    };
    expect(await hourRow("2026-12-02T10:00:00.000Z")).toEqual(expected);

    // The same batch again (a replay), and its samples under a new batch id (a retry the
    // control plane cannot recognise): the per-minute maximum is already there.
    await accept(late);
    await accept({ ...late, batchId: randomUUID(), sequence: late.sequence + 1000 });
    expect(await hourRow("2026-12-02T10:00:00.000Z")).toEqual(expected);

    // The draft bills what was observed: 24 GiB-minutes provisioned, 28 replicated, as GiB-hours
    // (and node-0's pool sample, one node-hour).
    const usage = await t.api.services.billing.usage({ organizationId: a.id, role: "owner", actor: systemActor("tests") }, { granularity: "hour", clusterId: c.clusterId, from: "2026-12-02T10:00:00.000Z", to: "2026-12-02T11:00:00.000Z" });
    expect(usage.points.map((p) => [p.unit, p.quantity])).toEqual([
      ["node_hour", "1"],
      ["provisioned_gib_hour", "0.4"],
      ["replicated_gib_hour", "0.466667"],
    ]);
  });

  it("meters an older agent's batch (samples without sizes) from the volume table, as before", async () => {
    const at = new Date("2026-12-02T09:15:00.000Z");
    await accept(batch({ volumeSamples: [volumeSample("vol-0", at)], poolSamples: [poolSample("node-0", at)] }));
    // 20 + 4 GiB stored now, two copies each: 24 GiB provisioned and 24 GiB of extra copies.
    expect(await hourRow("2026-12-02T09:00:00.000Z")).toEqual({ provisioned: minutes({ 15: 24 }), replicated: minutes({ 15: 24 }), sums: [24, 24] });
  });
  it("meters a minute again when a later batch in it reports more, and a claim bound mid-minute joins that minute's showback at the next batch", async () => {
    const sized = (at: Date, gib: number) => volumeSample("vol-0", at, { sizeBytes: gib * GIB, replicas: 2 });
    await accept(batch({ volumeSamples: [sized(new Date("2026-12-02T11:10:05.000Z"), 10)] }));
    // (The newest hour of this cluster: the API remembers what it metered for the latest hours.)
    const minute = async (m: number) => {
      const row = await hourRow("2026-12-02T11:00:00.000Z");
      return [row?.provisioned[m], row?.replicated[m]];
    };
    expect(await minute(10)).toEqual([10, 10]);
    // The same minute, the volume expanded: the minute is known metered at 10 GiB, not at 12.
    await accept(batch({ volumeSamples: [sized(new Date("2026-12-02T11:10:15.000Z"), 12)] }));
    await accept(batch({ volumeSamples: [sized(new Date("2026-12-02T11:10:25.000Z"), 11)] }));
    expect(await minute(10)).toEqual([12, 12]);
    // Raised in place: the kept byte-minute sums still equal the arrays they sum.
    const row = await hourRow("2026-12-02T11:00:00.000Z");
    const total = (xs: number[] | undefined) => (xs ?? []).reduce((a, b) => a + b, 0);
    expect(row?.sums).toEqual([total(row?.provisioned), total(row?.replicated)]);

    const weights = async () =>
      (await t.api.prisma.billingShowbackHour.findMany({ where: { organizationId: a.id, clusterId: c.clusterId, hour: new Date("2026-12-02T11:00:00.000Z") } })).map((r) => [r.namespace, Number(r.weightBytes[20] ?? 0n) / GIB]);
    await accept(batch({ volumeSamples: [sized(new Date("2026-12-02T11:20:05.000Z"), 12)] }));
    expect(await weights()).toEqual([]);
    // A claim in shop binds vol-0 (1 GiB, two copies): the section is applied after its own batch
    // is metered, so the weight appears with the next batch of the same minute.
    const at = new Date("2026-12-02T11:20:15.000Z");
    await accept(batch({ volumeSamples: [sized(at, 12)], kubernetes: kubernetesInventory(at, [kubernetesClaim("shop", "data", "vol-0")]) }));
    await accept(batch({ volumeSamples: [sized(new Date("2026-12-02T11:20:25.000Z"), 12)] }));
    expect(await weights()).toEqual([["shop", 2]]);
  });
});
