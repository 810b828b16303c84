/**
 * A cluster's Kubernetes nodes, stored from telemetry on real PostgreSQL and read back through
 * cluster.listKubernetesNodes (tRPC and REST): the newest Kubernetes section's list is what is
 * shown — a node missing from it is deleted, an older section delivered late changes nothing, a
 * section without a node list (an older agent) keeps what is stored — and the node-hours billed
 * this month are filled in for roles that may read billing only.
 */
import type { KubernetesNode, TelemetryBatch } from "@stowage/agent-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { batch, kubernetesInventory, poolSample, registerCluster, sendBatch, testClock, type TestCluster } from "../test-support/agent";
import { BASE_URL, callerFor, createApiKey, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../test-support/fixtures";

// Registration checks join tokens (made with the wall clock) against the injected clock: register first.
const clock = testClock(new Date());
const DAY = "2027-05-12";
const at = (time: string) => new Date(`${DAY}T${time}Z`);

const storage1: KubernetesNode = { name: "storage-1", nodeClass: "m5.large", ready: true, storageNodeId: "engine-storage-1" };
const app1: KubernetesNode = { name: "app-1", nodeClass: "m5.large", ready: true, storageNodeId: null };
const app2: KubernetesNode = { name: "app-2", nodeClass: "", ready: true, storageNodeId: null };
const app3NotReady: KubernetesNode = { name: "app-3", nodeClass: "c6i.xlarge", ready: false, storageNodeId: null };

function kubeBatch(observedAt: Date, nodes: KubernetesNode[] | undefined, poolTimes: Date[] = []): TelemetryBatch {
  return batch({
    sentAt: observedAt.toISOString(),
    poolSamples: poolTimes.map((d) => poolSample("engine-storage-1", d)),
    kubernetes: kubernetesInventory(observedAt, [], nodes === undefined ? {} : { nodes }),
  });
}

describe("Kubernetes nodes of a cluster", () => {
  let t: TestApi;
  let org: TestOrg;
  let c: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    org = await createOrgWithRoles(t.api, "k8s-nodes");
    c = await registerCluster(t.api, org.id);
    clock.set(at("16:00:00.000"));
  });
  afterAll(async () => {
    await t.close();
  });

  const accept = async (b: TelemetryBatch) => {
    const res = await sendBatch(t.api, c.credential, b);
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const listed = async (role: "owner" | "billing" | "operator" | "viewer" = "owner") => {
    const page = await callerFor(t.api, org.users[role], org.id).cluster.listKubernetesNodes({ clusterId: c.clusterId });
    return page.items.map((n) => [n.name, n.nodeClass, n.ready, n.storageNodeId, n.lastSeenAt, n.billedNodeHours]);
  };

  it("shows the nodes of the latest list with their class, Ready, engine node and the node-hours billed this month", async () => {
    expect(await listed()).toEqual([]);
    // Hours 10, 11 and 13; storage-1 also through its engine's pool samples, billed once an hour.
    for (const [time, pool] of [["10:00:10.000", "10:00:05.000"], ["11:00:00.000", "10:59:59.000"], ["13:05:00.000", "13:04:58.000"]] as const) {
      await accept(kubeBatch(at(time), [storage1, app1, app2, app3NotReady], [at(pool)]));
    }
    const last = at("13:05:00.000").toISOString();
    expect(await listed("owner")).toEqual([
      ["app-1", "m5.large", true, null, last, 3],
      ["app-2", "", true, null, last, 3],
      // Listed, never Ready: shown, never billed.
      ["app-3", "c6i.xlarge", false, null, last, 0],
      ["storage-1", "m5.large", true, "engine-storage-1", last, 3],
    ]);
    expect((await listed("billing")).map((n) => n[5])).toEqual([3, 3, 0, 3]);
    // Cluster readers without billing see the nodes, not what they cost.
    for (const role of ["operator", "viewer"] as const) expect((await listed(role)).map((n) => [n[0], n[5]])).toEqual([["app-1", null], ["app-2", null], ["app-3", null], ["storage-1", null]]);
    const page = await callerFor(t.api, org.users.owner, org.id).cluster.listKubernetesNodes({ clusterId: c.clusterId });
    expect(page.month).toBe("2027-05");
  });

  it("deletes a node the newest list leaves out; an older list delivered late, a section without a list and a batch without a section change nothing; an empty list empties", async () => {
    const notReady = { ...app1, ready: false };
    await accept(kubeBatch(at("14:00:00.000"), [storage1, notReady]));
    const newest = at("14:00:00.000").toISOString();
    const expected = [
      ["app-1", "m5.large", false, null, newest, 3],
      ["storage-1", "m5.large", true, "engine-storage-1", newest, 4],
    ];
    expect(await listed()).toEqual(expected);

    await accept(kubeBatch(at("13:30:00.000"), [storage1, app1, app2, app3NotReady]));
    await accept(kubeBatch(at("14:30:00.000"), undefined));
    await accept(batch({ sentAt: at("14:40:00.000").toISOString() }));
    expect((await listed()).map((n) => [n[0], n[2], n[4]])).toEqual(expected.map((n) => [n[0], n[2], n[4]]));

    await accept(kubeBatch(at("15:00:00.000"), []));
    expect(await listed()).toEqual([]);
    // Gone from the list, not from the bill: the ledger keeps the hours the nodes were billed.
    const { rows } = await t.api.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM billing_node_hours WHERE "clusterId" = $1`, [c.clusterId]);
    expect(rows[0]?.n).toBe("3");
  });

  it("serves the same list over REST, with billed node-hours for a billing key and without for a viewer key; another organization's key finds no cluster", async () => {
    await accept(kubeBatch(at("15:30:00.000"), [app2]));
    const get = async (secret: string) => t.api.handlers.rest(new Request(`${BASE_URL}/api/v1/clusters/${c.clusterId}/kubernetes-nodes`, { headers: { authorization: `Bearer ${secret}` } }));
    const body = z.object({ month: z.string(), items: z.array(z.object({ name: z.string(), storageNodeId: z.string().nullable(), billedNodeHours: z.number().nullable() })) });
    const billing = await get((await createApiKey(t.api, org.id, "billing")).secret);
    expect(billing.status).toBe(200);
    expect(body.parse(await billing.json()).items).toEqual([{ name: "app-2", storageNodeId: null, billedNodeHours: 4 }]);
    const viewer = await get((await createApiKey(t.api, org.id, "viewer")).secret);
    expect(body.parse(await viewer.json()).items).toEqual([{ name: "app-2", storageNodeId: null, billedNodeHours: null }]);
    const other = await createOrgWithRoles(t.api, "k8s-nodes-other");
    expect((await get((await createApiKey(t.api, other.id, "owner")).secret)).status).toBe(404);
  });
});
