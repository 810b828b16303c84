import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batch, inventory, poolSample, registerCluster, sendBatch, testClock, volumeSample, type TestCluster } from "../../test-support/agent";
import { at, BASE_URL, callerFor, createApiKey, createOrgWithRoles, createTestApi, str, type TestApi, type TestOrg } from "../../test-support/fixtures";

const clock = testClock(new Date("2026-11-21T12:00:00.000Z"));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}

describe("fleet and volume procedures", () => {
  let t: TestApi;
  let a: TestOrg;
  let c: TestCluster;

  beforeAll(async () => {
    t = await createTestApi({ now: clock.now });
    a = await createOrgWithRoles(t.api, "alpha");
    c = await registerCluster(t.api, a.id, "east");
    const inv = inventory({ nodes: 3, volumes: 3, replicaState: { "vol-1-r1": "resyncing" } });
    const r1 = inv.replicas.find((r) => r.id === "vol-1-r1");
    if (r1) r1.progress = 0.25;
    const now = clock.now();
    const res = await sendBatch(
      t.api,
      c.credential,
      batch({
        inventory: inv,
        volumeSamples: [volumeSample("vol-0", now, { readIops: 100, usedBytes: 4096 }), volumeSample("vol-1", now, { readIops: 20, latencyP99Us: 5000 })],
        poolSamples: [poolSample("node-0", now, 1000, 400)],
      }),
    );
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists nodes with zone, rack and pool figures", async () => {
    const nodes = await callerFor(t.api, a.users.viewer, a.id).node.list({ id: c.clusterId });
    expect(nodes.items.map((n) => [n.externalId, n.zone, n.rack, n.status])).toEqual([
      ["node-0", "a", "r0", "up"],
      ["node-1", "b", "r1", "up"],
      ["node-2", "c", "r2", "up"],
    ]);
    expect(nodes.items[0]?.pool).toMatchObject({ capacityBytes: 1000, allocatedBytes: 400, usedFraction: 0.4, health: "healthy" });
  });

  it("lists volumes with filters, search and cursors; gets one with replicas, placement and snapshots", async () => {
    const viewer = callerFor(t.api, a.users.viewer, a.id);
    const first = await viewer.volume.list({ clusterId: c.clusterId, limit: 2 });
    expect(first.items).toHaveLength(2);
    const rest = await viewer.volume.list({ clusterId: c.clusterId, limit: 2, cursor: first.nextCursor ?? undefined });
    expect([...first.items, ...rest.items].map((v) => v.externalId).sort()).toEqual(["vol-0", "vol-1", "vol-2"]);
    expect(rest.nextCursor).toBeNull();
    expect((await viewer.volume.list({ search: "PVC-VOL-1" })).items.map((v) => v.externalId)).toEqual(["vol-1"]);
    expect((await viewer.volume.list({ state: "faulted" })).items).toEqual([]);

    const id = (await viewer.volume.list({ search: "vol-1" })).items[0]?.id ?? "";
    const v = await viewer.volume.get({ id });
    expect(v).toMatchObject({ externalId: "vol-1", replicaCount: 2, sizeBytes: 1 << 30, targetNodeId: "node-0" });
    expect(v.replicas.map((r) => [r.externalId, r.state, r.progress, r.node.zone])).toEqual([
      ["vol-1-r0", "healthy", null, "a"],
      ["vol-1-r1", "resyncing", 0.25, "b"],
    ]);
    expect(v.placement).toEqual({ targetNode: { externalId: "node-0", name: "node-0", zone: "a", rack: "r0" }, zones: ["a", "b"], racks: ["r0", "r1"], spreadAcrossZones: true });
    expect(v.snapshots.map((s) => s.name)).toEqual(["vol-1-daily"]);
    const v0 = await viewer.volume.get({ id: (await viewer.volume.list({ search: "vol-0" })).items[0]?.id ?? "" });
    expect(v0.usedBytes).toBe(4096);
  });

  it("creates, snapshots and deletes through commands, audited; REST honours Idempotency-Key", async () => {
    const key = await createApiKey(t.api, a.id, "operator");
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      t.api.handlers.rest(
        new Request(`${BASE_URL}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${key.secret}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
    const body = { clusterId: c.clusterId, name: "orders-db", sizeBytes: 10 * 2 ** 30, replicas: 2 };
    const created = await call("POST", "/volumes", body, { "idempotency-key": "vol-1" });
    expect(created.status).toBe(200);
    const cmd: unknown = await created.json();
    expect(cmd).toMatchObject({ type: "volume.create", state: "queued", params: { name: "orders-db", sizeBytes: 10 * 2 ** 30, replicas: 2, encrypted: false } });
    const replay = await call("POST", "/volumes", body, { "idempotency-key": "vol-1" });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(str(await replay.json(), "id")).toBe(str(cmd, "id"));
    // Without the key, the same name is already being created.
    expect((await call("POST", "/volumes", body)).status).toBe(409);
    const got = await call("GET", `/commands/${str(cmd, "id")}`);
    expect(at(await got.json(), "state")).toBe("queued");

    const volId = (await callerFor(t.api, a.users.viewer, a.id).volume.list({ search: "vol-2" })).items[0]?.id ?? "";
    const snap = await call("POST", `/volumes/${volId}/snapshots`, { name: "before-upgrade" });
    expect(await snap.json()).toMatchObject({ type: "snapshot.create", params: { volumeId: "vol-2", name: "before-upgrade" }, volumeId: volId });
    // Deleting needs admin; twice returns the delete under way.
    expect((await call("DELETE", `/volumes/${volId}`)).status).toBe(403);
    const admin = callerFor(t.api, a.users.admin, a.id);
    const del = await admin.volume.delete({ id: volId });
    expect(del).toMatchObject({ type: "volume.delete", params: { volumeId: "vol-2" } });
    expect((await admin.volume.delete({ id: volId })).id).toBe(del.id);
    const audit = await callerFor(t.api, a.users.owner, a.id).audit.list({ limit: 10 });
    expect(audit.items.map((e) => e.action)).toEqual(expect.arrayContaining(["volume.create", "snapshot.create", "volume.delete"]));
    expect((await callerFor(t.api, a.users.viewer, a.id).command.list({ clusterId: c.clusterId })).items).toHaveLength(3);
    expect(await codeOf(callerFor(t.api, a.users.operator, a.id).volume.create({ clusterId: "00000000-0000-4000-8000-000000000000", name: "x", sizeBytes: 1 << 30 }))).toBe("NOT_FOUND");
  });

  it("gives the fleet overview from current figures and alerts", async () => {
    const o = await callerFor(t.api, a.users.viewer, a.id).fleet.overview();
    const east = o.clusters.find((x) => x.id === c.clusterId);
    expect(east).toMatchObject({ name: "east", status: "connected", nodeCount: 3, nodesUp: 3, volumeCount: 3, capacityBytes: 3000, allocatedBytes: 600 });
    expect(east?.current).toMatchObject({ readIops: 120, latencyP99Us: 5000 });
    // The resyncing replica is a warning.
    expect(east).toMatchObject({ health: "warning", openAlerts: { critical: 0, warning: 1 } });
    expect(o.totals).toMatchObject({ clusters: 1, nodeCount: 3, volumeCount: 3, openAlerts: 1 });
  });

  it("picks the series resolution by range", async () => {
    const viewer = callerFor(t.api, a.users.viewer, a.id);
    const id = (await viewer.volume.list({ search: "vol-0" })).items[0]?.id ?? "";
    const raw = await viewer.volume.metrics({ id, from: "2026-11-21T11:30:00.000Z", to: "2026-11-21T12:10:00.000Z" });
    expect(raw.resolution).toBe("raw");
    expect(raw.points.map((p) => [p.at, p.readIops, p.usedBytes])).toEqual([["2026-11-21T12:00:00.000Z", 100, 4096]]);
    expect((await viewer.volume.metrics({ id, from: "2026-11-20T12:00:00.000Z", to: "2026-11-21T12:00:00.000Z" })).resolution).toBe("1m");
    expect((await viewer.volume.metrics({ id, from: "2026-10-21T12:00:00.000Z", to: "2026-11-21T12:00:00.000Z" })).resolution).toBe("1h");
    const cluster = await viewer.fleet.metrics({ clusterId: c.clusterId, from: "2026-11-21T11:30:00.000Z", to: "2026-11-21T12:10:00.000Z" });
    expect(cluster.resolution).toBe("raw");
    expect(cluster.points).toEqual([expect.objectContaining({ at: "2026-11-21T12:00:00.000Z", readIops: 120, allocatedBytes: 400 })]);
    expect((await viewer.fleet.metrics({})).resolution).toBe("1m");
    expect(await codeOf(viewer.volume.metrics({ id, from: "2026-11-21T12:00:00.000Z", to: "2026-11-21T11:00:00.000Z" }))).toBe("BAD_REQUEST");
  });
});
