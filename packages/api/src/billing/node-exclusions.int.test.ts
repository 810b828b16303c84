/**
 * Node exclusions after they are made, on real PostgreSQL: the list with each one's state, ending
 * one at the server's clock (hours from the next one billed again, audited), cancelling one that
 * has not started, and the refusals — already ended (naming the field), another organization's
 * exclusion or cluster, weaker roles.
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batch, inventory, poolSample, registerCluster, sendBatch, testClock, type TestCluster } from "../test-support/agent";
import { callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

const clock = testClock(new Date("2026-12-03T10:20:00.000Z"));
// Hour indexes from the start of December.
const H09 = 2 * 24 + 9;
const H10 = H09 + 1;
const H11 = H09 + 2;

async function refusal(promise: Promise<unknown>): Promise<{ code: string; details: unknown }> {
  try {
    await promise;
    return { code: "OK", details: null };
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    const cause = err.cause;
    return { code: err.code, details: cause && typeof cause === "object" && "details" in cause ? cause.details : null };
  }
}

describe("billing node exclusions", () => {
  let t: TestApi;
  let a: TestOrg;
  let b: TestOrg;
  let c: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "excl-a");
    b = await createOrgWithRoles(t.api, "excl-b");
    c = await registerCluster(t.api, a.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const owner = () => callerFor(t.api, a.users.owner, a.id);
  const report = async (at: string, nodes: string[]) => {
    const d = new Date(at);
    const res = await sendBatch(t.api, c.credential, batch({ inventory: inventory({ nodes: 2, volumes: 0 }), poolSamples: nodes.map((n) => poolSample(n, d)) }));
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const nodeHours = async () => {
    const e = await owner().billing.explainLine({ month: "2026-12", clusterId: c.clusterId, unit: "node_hour" });
    return { quantity: e.quantity, byNode: Object.fromEntries(e.nodes.map((n) => [n.nodeId, { billed: n.billedHours, excluded: n.excludedHours }])) };
  };

  it("lists an exclusion as active, ends it now (the hour in progress stays excluded, later hours are billed) with an audit row, and refuses to end it twice naming the field", async () => {
    await report("2026-12-03T09:30:00.000Z", ["node-0", "node-1"]);
    await report("2026-12-03T10:05:00.000Z", ["node-0", "node-1"]);
    expect((await nodeHours()).quantity).toBe("4");

    const made = await owner().billing.excludeNode({ clusterId: c.clusterId, nodeId: "node-1", from: "2026-12-03T09:00:00.000Z", reason: "burn-in" });
    const listed = await owner().billing.nodeExclusions.list({});
    expect(listed.items.map((i) => [i.id, i.nodeId, i.state, i.to, i.reason, i.createdBy])).toEqual([[made.id, "node-1", "active", null, "burn-in", a.users.owner.email]]);
    expect(listed.items[0]?.clusterName).toBe((await t.api.prisma.cluster.findUniqueOrThrow({ where: { id: c.clusterId } })).name);
    const excluded = await nodeHours();
    expect(excluded.quantity).toBe("2");
    expect(excluded.byNode["node-1"]).toEqual({ billed: [], excluded: [H09, H10] });

    const ended = await owner().billing.nodeExclusions.end({ id: made.id });
    expect([ended.state, ended.to, ended.cancelled]).toEqual(["ended", "2026-12-03T10:20:00.000Z", false]);
    const audit = await t.api.prisma.auditLog.findFirst({ where: { organizationId: a.id, action: "billing.node.exclusion_end", targetId: "node-1" } });
    expect(audit?.actorLabel).toBe(a.users.owner.email);

    clock.set(new Date("2026-12-03T11:20:00.000Z"));
    await report("2026-12-03T11:10:00.000Z", ["node-0", "node-1"]);
    const after = await nodeHours();
    expect(after.byNode["node-1"]).toEqual({ billed: [H11], excluded: [H09, H10] });
    expect(after.quantity).toBe("4");
    expect((await owner().billing.nodeExclusions.list({ clusterId: c.clusterId })).items.map((i) => i.state)).toEqual(["ended"]);

    const again = await refusal(owner().billing.nodeExclusions.end({ id: made.id }));
    expect(again.code).toBe("CONFLICT");
    expect(again.details).toEqual([{ path: "id", message: "already ended (2026-12-03T10:20:00.000Z)" }]);
  });

  it("cancels an exclusion that has not started: removed, nothing kept off the bill, audited as a cancel", async () => {
    const later = await callerFor(t.api, a.users.billing, a.id).billing.excludeNode({ clusterId: c.clusterId, nodeId: "node-0", from: "2026-12-05T00:00:00.000Z", to: "2026-12-06T00:00:00.000Z", reason: "" });
    expect((await owner().billing.nodeExclusions.list({})).items.find((i) => i.id === later.id)?.state).toBe("scheduled");
    const ended = await callerFor(t.api, a.users.billing, a.id).billing.nodeExclusions.end({ id: later.id });
    expect(ended.cancelled).toBe(true);
    expect((await owner().billing.nodeExclusions.list({})).items.map((i) => i.id)).not.toContain(later.id);
    expect(await t.api.prisma.auditLog.count({ where: { organizationId: a.id, action: "billing.node.exclusion_cancel" } })).toBe(1);
  });

  it("refuses another organization's exclusion and cluster (NOT_FOUND), weaker roles (FORBIDDEN), and stores nothing", async () => {
    const made = await owner().billing.excludeNode({ clusterId: c.clusterId, nodeId: "node-0", from: "2026-12-03T11:00:00.000Z", reason: "" });
    const outsider = callerFor(t.api, b.users.owner, b.id);
    expect((await refusal(outsider.billing.nodeExclusions.end({ id: made.id }))).code).toBe("NOT_FOUND");
    expect((await refusal(outsider.billing.nodeExclusions.list({ clusterId: c.clusterId }))).code).toBe("NOT_FOUND");
    expect((await outsider.billing.nodeExclusions.list({})).items).toEqual([]);
    for (const role of ["viewer", "operator"] as const) {
      const weak = callerFor(t.api, a.users[role], a.id);
      expect((await refusal(weak.billing.nodeExclusions.end({ id: made.id }))).code, role).toBe("FORBIDDEN");
      expect((await refusal(weak.billing.nodeExclusions.list({}))).code, role).toBe("FORBIDDEN");
    }
    const row = await t.api.prisma.billingNodeExclusion.findUniqueOrThrow({ where: { id: made.id } });
    expect(row.toAt).toBeNull();
  });
});
