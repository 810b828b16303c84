import { agentErrorSchema } from "@stowage/agent-protocol";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batch, inventory, kubernetesClaim, kubernetesInventory, registerCluster, sendBatch, type TestCluster } from "../../test-support/agent";
import { callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../../test-support/fixtures";
import type { TelemetryBatch } from "@stowage/agent-protocol";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}

const T0 = new Date("2026-12-04T09:00:00.000Z");
const after = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe("the Kubernetes side of a cluster: ingest and reads", () => {
  let t: TestApi;
  let a: TestOrg;
  let b: TestOrg;

  beforeAll(async () => {
    t = await createTestApi();
    [a, b] = [await createOrgWithRoles(t.api, "alpha"), await createOrgWithRoles(t.api, "bravo")];
  });
  afterAll(async () => {
    await t.close();
  });

  const accept = async (c: TestCluster, body: TelemetryBatch) => {
    const res = await sendBatch(t.api, c.credential, body);
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const viewer = () => callerFor(t.api, a.users.viewer, a.id);
  const claimNames = async (clusterId: string) => (await viewer().cluster.listClaims({ clusterId, limit: 100 })).items.map((c) => `${c.namespace}/${c.name}`);

  /** A cluster with three engine volumes, two of them claimed in Kubernetes and one claim still pending. */
  async function reportingCluster(): Promise<TestCluster> {
    const c = await registerCluster(t.api, a.id);
    await accept(
      c,
      batch({
        inventory: inventory({ volumes: 3 }),
        kubernetes: kubernetesInventory(T0, [
          kubernetesClaim("shop", "orders-db", "vol-0", { pods: [{ name: "orders-db-0", node: "node-1", phase: "Running", ready: true }] }),
          kubernetesClaim("default", "cache", "vol-1", { pods: [], owners: [] }),
          kubernetesClaim("shop", "scratch", null, { storageClass: null }),
        ]),
      }),
    );
    return c;
  }

  it("stores a batch's section: version, namespaces with their claim counts, storage classes, claims bound to their volumes", async () => {
    const c = await reportingCluster();
    expect((await viewer().cluster.get({ id: c.clusterId })).kubernetesVersion).toBe("v1.32.5");

    const namespaces = await viewer().cluster.listNamespaces({ clusterId: c.clusterId });
    expect(namespaces.observedAt).toBe(T0.toISOString());
    expect(namespaces.kubernetesVersion).toBe("v1.32.5");
    expect(namespaces.items.map((n) => [n.name, n.phase, n.claimCount])).toEqual([
      ["default", "Active", 1],
      ["shop", "Active", 2],
    ]);

    const classes = await viewer().cluster.listStorageClasses({ clusterId: c.clusterId });
    expect(classes.items).toEqual([
      expect.objectContaining({ name: "stowage", provisioner: "csi.stowage.io", stowage: true, isDefault: true, parameters: { replicas: "3", zoneSpread: "true" } }),
    ]);

    const claims = await viewer().cluster.listClaims({ clusterId: c.clusterId, limit: 100 });
    expect(claims.items.map((x) => `${x.namespace}/${x.name}`)).toEqual(["default/cache", "shop/orders-db", "shop/scratch"]);
    const vol0 = await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-0" } });
    const orders = claims.items[1];
    expect(orders).toMatchObject({
      phase: "Bound",
      capacityBytes: 1 << 30,
      storageClass: "stowage",
      volume: { id: vol0.id, name: "pvc-vol-0" },
      pods: [{ name: "orders-db-0", node: "node-1", phase: "Running", ready: true }],
      owners: [{ kind: "StatefulSet", name: "orders-db" }],
    });
    expect(claims.items[2]).toMatchObject({ phase: "Pending", capacityBytes: null, storageClass: null, volume: null });

    // The volume page's read carries its claim; an unclaimed volume has none.
    const detail = await viewer().volume.get({ id: vol0.id });
    expect(detail.claim).toMatchObject({ namespace: "shop", name: "orders-db", phase: "Bound", pods: [{ name: "orders-db-0", node: "node-1" }] });
    const vol2 = await t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId, externalId: "vol-2" } });
    expect((await viewer().volume.get({ id: vol2.id })).claim).toBeNull();

    // Every row carries its organization.
    expect(await t.api.prisma.kubernetesClaim.count({ where: { clusterId: c.clusterId, NOT: { organizationId: a.id } } })).toBe(0);
    expect(await t.api.prisma.kubernetesNamespace.count({ where: { clusterId: c.clusterId, organizationId: a.id } })).toBe(2);
  });

  it("filters claims by namespace and pages through them with a cursor", async () => {
    const c = await reportingCluster();
    expect((await viewer().cluster.listClaims({ clusterId: c.clusterId, namespace: "shop", limit: 100 })).items.map((x) => x.name)).toEqual(["orders-db", "scratch"]);
    expect((await viewer().cluster.listClaims({ clusterId: c.clusterId, namespace: "nowhere", limit: 100 })).items).toEqual([]);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await viewer().cluster.listClaims({ clusterId: c.clusterId, limit: 2, cursor });
      seen.push(...page.items.map((x) => `${x.namespace}/${x.name}`));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(["default/cache", "shop/orders-db", "shop/scratch"]);
    expect(await codeOf(viewer().cluster.listClaims({ clusterId: c.clusterId, limit: 2, cursor: "bm90LWEtY3Vyc29y" }))).toBe("BAD_REQUEST");
  });

  it("removes a claim that disappeared, and takes a claim made again under its name as a new one", async () => {
    const c = await reportingCluster();
    const before = await t.api.prisma.kubernetesClaim.findFirstOrThrow({ where: { clusterId: c.clusterId, namespace: "shop", name: "orders-db" } });
    await accept(
      c,
      batch({
        kubernetes: kubernetesInventory(after(10), [kubernetesClaim("shop", "orders-db", "vol-0", { uid: "uid-recreated" })], {
          namespaces: [{ name: "shop", phase: "Terminating", createdAt: "2026-02-01T00:00:00.000Z" }],
          storageClasses: [],
        }),
      }),
    );
    expect(await claimNames(c.clusterId)).toEqual(["shop/orders-db"]);
    const now = await t.api.prisma.kubernetesClaim.findFirstOrThrow({ where: { clusterId: c.clusterId, namespace: "shop", name: "orders-db" } });
    expect(now.uid).toBe("uid-recreated");
    expect(now.id).not.toBe(before.id);
    expect((await viewer().cluster.listNamespaces({ clusterId: c.clusterId })).items.map((n) => [n.name, n.phase])).toEqual([["shop", "Terminating"]]);
    expect((await viewer().cluster.listStorageClasses({ clusterId: c.clusterId })).items).toEqual([]);
  });

  it("ignores a replayed batch and an older or equally old picture delivered later", async () => {
    const c = await reportingCluster();
    const newest = batch({ kubernetes: kubernetesInventory(after(20), [kubernetesClaim("shop", "orders-db", "vol-0")], { version: "v1.33.1" }) });
    await accept(c, newest);
    const stored = await t.api.prisma.kubernetesClaim.findMany({ where: { clusterId: c.clusterId }, orderBy: { uid: "asc" } });

    // Older (buffered) and equally old pictures, each in a batch of its own, change nothing.
    await accept(c, batch({ kubernetes: kubernetesInventory(after(5), [kubernetesClaim("default", "late", null)], { version: "v1.31.0" }) }));
    await accept(c, batch({ kubernetes: kubernetesInventory(after(20), [], { version: "v1.31.0" }) }));
    // The same batch again is a duplicate: not applied a second time.
    await accept(c, newest);

    expect(await t.api.prisma.kubernetesClaim.findMany({ where: { clusterId: c.clusterId }, orderBy: { uid: "asc" } })).toEqual(stored);
    expect(await claimNames(c.clusterId)).toEqual(["shop/orders-db"]);
    expect((await viewer().cluster.get({ id: c.clusterId })).kubernetesVersion).toBe("v1.33.1");
    expect((await viewer().cluster.listNamespaces({ clusterId: c.clusterId })).observedAt).toBe(after(20).toISOString());
  });

  it("leaves the Kubernetes inventory as it was when a batch carries no section", async () => {
    const c = await reportingCluster();
    await accept(c, batch({ inventory: inventory({ volumes: 3 }) }));
    await accept(c, batch({ kubernetes: null }));
    expect(await claimNames(c.clusterId)).toEqual(["default/cache", "shop/orders-db", "shop/scratch"]);
    expect((await viewer().cluster.listNamespaces({ clusterId: c.clusterId })).observedAt).toBe(T0.toISOString());
  });

  it("refuses a section listing a claim twice, naming the entry, and stores nothing of the batch", async () => {
    const c = await registerCluster(t.api, a.id);
    const body = batch({ kubernetes: kubernetesInventory(T0, [kubernetesClaim("shop", "a", null), kubernetesClaim("shop", "a", null, { uid: "other" })]) });
    const res = await sendBatch(t.api, c.credential, body);
    expect(res.status).toBe(422);
    const { error } = agentErrorSchema.parse(await res.json());
    expect(error.details).toEqual([{ path: "kubernetes.claims.1.name", message: 'duplicate claim "a" in namespace "shop"' }]);
    expect(await t.api.prisma.telemetryBatch.count({ where: { clusterId: c.clusterId } })).toBe(0);
    expect(await t.api.prisma.kubernetesClaim.count({ where: { clusterId: c.clusterId } })).toBe(0);
  });

  it("shows nothing to another organization, and says when an agent has not reported Kubernetes", async () => {
    const c = await reportingCluster();
    const theirs = callerFor(t.api, b.users.owner, b.id);
    expect(await codeOf(theirs.cluster.listNamespaces({ clusterId: c.clusterId }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.cluster.listClaims({ clusterId: c.clusterId, limit: 10 }))).toBe("NOT_FOUND");
    expect(await codeOf(theirs.cluster.listStorageClasses({ clusterId: c.clusterId }))).toBe("NOT_FOUND");

    const silent = await registerCluster(t.api, b.id);
    await accept(silent, batch({ inventory: inventory() }));
    const none = await theirs.cluster.listNamespaces({ clusterId: silent.clusterId });
    expect(none).toEqual({ kubernetesVersion: null, observedAt: null, items: [] });
    expect((await theirs.cluster.listClaims({ clusterId: silent.clusterId, limit: 10 })).items).toEqual([]);
  });
});
