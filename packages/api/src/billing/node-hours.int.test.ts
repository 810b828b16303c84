/**
 * Every node counts, on real PostgreSQL: node-hours metered from the nodes of a batch's Kubernetes
 * section as well as from pool samples, through the agent API as agents send them. A storage-less
 * node is billed one node-hour per hour it was reported; a storage node reported both ways is
 * billed once; replay, reorder and retry (by another control-plane instance, which has not seen
 * the batches) leave the ledger as it is; node classes land on invoice lines.
 */
import type { KubernetesNode, TelemetryBatch } from "@stowage/agent-protocol";
import type { RateCardInput } from "@stowage/billing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createApi } from "../api";
import { createLogger } from "../lib/logger";
import { batch, kubernetesInventory, poolSample, registerCluster, sendBatch, testClock, type TestCluster } from "../test-support/agent";
import { BASE_URL, callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

// Registration checks join tokens (made with the wall clock) against the injected clock: register first.
const clock = testClock(new Date());
const DAY = "2027-02-10";
const at = (time: string) => new Date(`${DAY}T${time}Z`);

/** Node-hours at 1.00 by default and 2.50 for class m5.large. */
const card: RateCardInput = {
  currency: "USD",
  effectiveFrom: "2027-02-01T00:00:00.000Z",
  nodeHour: { default: [{ upTo: null, unitPriceMinor: "100" }], byClass: { "m5.large": [{ upTo: null, unitPriceMinor: "250" }] } },
  provisionedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
  replicatedGibMonth: [{ upTo: null, unitPriceMinor: "0" }],
  freeNodes: 0,
  taxRateBasisPoints: 0,
};

const storage1: KubernetesNode = { name: "storage-1", nodeClass: "m5.large", ready: true, storageNodeId: "storage-1" };
const app1: KubernetesNode = { name: "app-1", nodeClass: "m5.large", ready: true, storageNodeId: null };
const app2: KubernetesNode = { name: "app-2", nodeClass: "", ready: true, storageNodeId: null };
const app3NotReady: KubernetesNode = { name: "app-3", nodeClass: "c6i.xlarge", ready: false, storageNodeId: null };

/** A batch as a Kubernetes agent sends it: its engine's pool samples and its cluster's nodes. */
function kubeBatch(observedAt: Date, poolTimes: Date[], nodes: KubernetesNode[] | undefined): TelemetryBatch {
  return batch({
    sentAt: observedAt.toISOString(),
    poolSamples: poolTimes.map((d) => poolSample("storage-1", d)),
    kubernetes: kubernetesInventory(observedAt, [], nodes === undefined ? {} : { nodes }),
  });
}

/**
 * Hours 10, 11 and 13 (12 without telemetry): several batches an hour, one observed at exactly
 * 11:00:00.000 (hour 11), the storage node in pool samples and as a node.
 */
function day(): TelemetryBatch[] {
  const nodes = [storage1, app1, app2, app3NotReady];
  return [
    kubeBatch(at("10:00:10.000"), [at("10:00:05.000")], nodes),
    kubeBatch(at("10:20:00.000"), [at("10:19:55.000"), at("10:20:00.000")], nodes),
    // storage-1 only as a node here: its engine's samples were in the previous batch.
    kubeBatch(at("10:59:59.999"), [], nodes),
    kubeBatch(at("11:00:00.000"), [at("10:59:59.000")], nodes),
    kubeBatch(at("11:30:00.000"), [at("11:29:50.000")], nodes),
    kubeBatch(at("13:05:00.000"), [at("13:04:58.000")], nodes),
  ];
}

interface LedgerRow {
  nodeId: string;
  nodeClass: string;
  hours: number[];
}

describe("node-hours of every node", () => {
  let t: TestApi;
  let org: TestOrg;
  let c: TestCluster;
  let replayed: TestCluster;
  let legacy: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    org = await createOrgWithRoles(t.api, "nodes");
    c = await registerCluster(t.api, org.id);
    replayed = await registerCluster(t.api, org.id);
    legacy = await registerCluster(t.api, org.id);
    // A rate card starts in a future month: made in January for February.
    clock.set(new Date("2027-01-31T12:00:00.000Z"));
    await callerFor(t.api, org.users.owner, org.id).billing.rateCards.create(card);
    clock.set(new Date(`${DAY}T16:00:00.000Z`));
  });
  afterAll(async () => {
    await t.close();
  });

  const accept = async (api: TestApi["api"], cl: TestCluster, b: TelemetryBatch) => {
    const res = await sendBatch(api, cl.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
    return z.object({ duplicate: z.boolean() }).parse(await res.json());
  };

  /** The cluster's ledger rows, hours as indexes from the day's start (Feb 10 starts at hour 216). */
  const ledger = async (clusterId: string): Promise<LedgerRow[]> => {
    const { rows } = await t.api.pool.query<{ nodeId: string; nodeClass: string; hours: string }>(
      `SELECT "nodeId", "nodeClass", "hours"::text AS hours FROM billing_node_hours WHERE "clusterId" = $1 ORDER BY "nodeId", "nodeClass"`,
      [clusterId],
    );
    const dayStart = (Date.parse(`${DAY}T00:00:00.000Z`) - Date.UTC(2027, 1, 1)) / 3_600_000;
    return rows.map((r) => ({ nodeId: r.nodeId, nodeClass: r.nodeClass, hours: [...r.hours].flatMap((bit, i) => (bit === "1" ? [i - dayStart] : [])) }));
  };

  it("bills a storage-less node one node-hour per hour it was reported Ready, a storage node reported both ways once, with its class on the line", async () => {
    for (const b of day()) await accept(t.api, c, b);
    expect(await ledger(c.clusterId)).toEqual([
      { nodeId: "app-1", nodeClass: "m5.large", hours: [10, 11, 13] },
      { nodeId: "app-2", nodeClass: "", hours: [10, 11, 13] },
      // One row: pool samples took the class its Kubernetes node reports.
      { nodeId: "storage-1", nodeClass: "m5.large", hours: [10, 11, 13] },
    ]);

    const owner = callerFor(t.api, org.users.owner, org.id);
    const draft = await owner.billing.invoice({ id: "draft-2027-02" });
    const nodeLines = draft.lines.filter((l) => l.unit === "node_hour" && l.clusterId === c.clusterId).map((l) => [l.nodeClass, l.quantity, l.amountMinor]);
    // Classes without tiers of their own ("" here) are billed on the default line (class null).
    expect(nodeLines).toEqual([
      [null, "3", "300"],
      ["m5.large", "6", "1500"],
    ]);
    const explained = await owner.billing.explainLine({ month: "2027-02", clusterId: c.clusterId, unit: "node_hour", nodeClass: "m5.large" });
    expect(explained.quantity).toBe("6");
    expect(explained.nodes.map((n) => [n.nodeId, n.billedHours.length])).toEqual([
      ["app-1", 3],
      ["storage-1", 3],
    ]);
  });

  it("leaves the ledger as it is when the same telemetry is replayed, reordered or retried, by this instance or another", async () => {
    const batches = day();
    for (const b of batches) await accept(t.api, replayed, b);
    const before = await ledger(replayed.clusterId);
    expect(before).toEqual(await ledger(c.clusterId));
    // Another control-plane instance has not metered these hours itself: its merges reach PostgreSQL.
    const other = createApi({ databaseUrl: t.db.url, baseUrl: BASE_URL, authSecret: "test-secret-0123456789abcdef0123456789abcdef", logger: createLogger({ level: "silent" }), databasePoolSize: 2, now: clock.now });
    try {
      for (const b of [...batches].reverse()) expect((await accept(other, replayed, b)).duplicate).toBe(true);
      // The same observations in new batches (an agent that lost its acknowledgements), reversed.
      for (const b of [...batches].reverse()) expect((await accept(other, replayed, { ...b, batchId: crypto.randomUUID() })).duplicate).toBe(false);
      expect(await ledger(replayed.clusterId)).toEqual(before);
    } finally {
      await other.close();
    }
  });

  it("meters an older agent's batch (no nodes) from pool samples as before, and still counts a storage node once in an hour it reported both ways", async () => {
    await accept(t.api, legacy, kubeBatch(at("14:10:00.000"), [at("14:10:00.000")], undefined));
    await accept(t.api, legacy, batch({ poolSamples: [poolSample("storage-1", at("14:20:00.000")), poolSample("storage-1", at("15:20:00.000"))] }));
    await accept(t.api, legacy, kubeBatch(at("14:30:00.000"), [], [storage1]));
    expect(await ledger(legacy.clusterId)).toEqual([
      { nodeId: "storage-1", nodeClass: "", hours: [14, 15] },
      { nodeId: "storage-1", nodeClass: "m5.large", hours: [14] },
    ]);
    const usage = await callerFor(t.api, org.users.owner, org.id).billing.usage({ granularity: "hour", clusterId: legacy.clusterId, unit: "node_hour", from: `${DAY}T14:00:00.000Z`, to: `${DAY}T16:00:00.000Z` });
    expect(usage.points.map((p) => [p.at.slice(11, 13), p.quantity])).toEqual([
      ["14", "1"],
      ["15", "1"],
    ]);
    const draft = await callerFor(t.api, org.users.owner, org.id).billing.invoice({ id: "draft-2027-02" });
    // Hour 14 under the class that sorts greatest (m5.large), hour 15 under "" (the default line).
    expect(draft.lines.filter((l) => l.unit === "node_hour" && l.clusterId === legacy.clusterId).map((l) => [l.nodeClass, l.quantity])).toEqual([
      [null, "1"],
      ["m5.large", "1"],
    ]);
  });

  it("refuses nodes observed ahead of the server clock and a node listed twice, naming the field and storing nothing", async () => {
    const rowsBefore = await ledger(c.clusterId);
    const ahead = await sendBatch(t.api, c.credential, kubeBatch(new Date(clock.now().getTime() + 11 * 60_000), [], [app2]));
    expect(ahead.status).toBe(422);
    expect(await ahead.text()).toContain("kubernetes.observedAt");
    const twice = await sendBatch(t.api, c.credential, kubeBatch(at("15:00:00.000"), [], [app2, { ...app2, nodeClass: "gpu" }]));
    expect(twice.status).toBe(422);
    expect(await twice.text()).toContain("kubernetes.nodes.1.name");
    expect(await ledger(c.clusterId)).toEqual(rowsBefore);
  });
});
