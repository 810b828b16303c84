import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_URL, callerFor, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "../../test-support/fixtures";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}

describe("cluster procedures", () => {
  let t: TestApi;
  let a: TestOrg;
  let b: TestOrg;

  beforeAll(async () => {
    t = await createTestApi({ joinTokenTtlSeconds: 3600 });
    a = await createOrgWithRoles(t.api, "alpha");
    b = await createOrgWithRoles(t.api, "bravo");
  });
  afterAll(async () => {
    await t.close();
  });

  it("creates a pending cluster with an expiring one-time token and the install command", async () => {
    const before = Date.now();
    const res = await callerFor(t.api, a.users.operator, a.id).cluster.create({ name: "prod-east" });
    expect(res.cluster).toMatchObject({ name: "prod-east", status: "pending", lastHeartbeatAt: null });
    expect(res.joinToken).toMatch(/^stj_[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(res.joinTokenExpiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect(res.installCommand).toBe(
      `helm upgrade --install stowage-agent oci://ghcr.io/stowage/charts/stowage-agent --namespace stowage-system --create-namespace --set controlPlane.url='${BASE_URL}' --set joinToken='${res.joinToken}'`,
    );
    const stored = await t.api.prisma.clusterJoinToken.findFirstOrThrow({ where: { clusterId: res.cluster.id } });
    expect(stored.tokenHash).not.toContain(res.joinToken);
  });

  it("keeps names unique per organization: create and rename conflict, other organizations may reuse", async () => {
    const op = callerFor(t.api, a.users.operator, a.id);
    await op.cluster.create({ name: "dup" });
    expect(await codeOf(op.cluster.create({ name: "dup" }))).toBe("CONFLICT");
    const other = await op.cluster.create({ name: "dup-2" });
    expect(await codeOf(op.cluster.rename({ id: other.cluster.id, name: "dup" }))).toBe("CONFLICT");
    expect((await op.cluster.get({ id: other.cluster.id })).name).toBe("dup-2");
    expect((await callerFor(t.api, b.users.operator, b.id).cluster.create({ name: "dup" })).cluster.name).toBe("dup");
  });

  it("renames and deletes, auditing each change with before/after", async () => {
    const op = callerFor(t.api, a.users.operator, a.id);
    const { cluster } = await op.cluster.create({ name: "old-name" });
    const renamed = await op.cluster.rename({ id: cluster.id, name: "new-name" });
    expect(renamed.name).toBe("new-name");
    await callerFor(t.api, a.users.admin, a.id).cluster.delete({ id: cluster.id });
    expect(await codeOf(op.cluster.get({ id: cluster.id }))).toBe("NOT_FOUND");
    const events = await callerFor(t.api, a.users.owner, a.id).audit.list({ targetId: cluster.id });
    expect(events.items.map((e) => e.action)).toEqual(["cluster.delete", "cluster.rename", "cluster.create"]);
    expect(events.items[1]?.metadata).toEqual({ from: "old-name", to: "new-name" });
    expect(events.items[1]).toMatchObject({ actor: { type: "user", id: a.users.operator.id }, ip: "203.0.113.7", userAgent: "stowage-tests/1.0" });
  });

  it("pages with cursors, newest first, filtered by status", async () => {
    const op = callerFor(t.api, b.users.owner, b.id);
    for (let i = 0; i < 5; i++) await op.cluster.create({ name: `p-${i}` });
    const first = await op.cluster.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const all = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await op.cluster.list({ limit: 2, cursor });
      all.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(all.map((c) => c.name)).toEqual(["p-4", "p-3", "p-2", "p-1", "p-0", "dup"]);
    expect((await op.cluster.list({ status: "connected" })).items).toEqual([]);
    // A connected cluster that stopped sending heartbeats is listed as disconnected.
    const p0 = all.find((c) => c.name === "p-0");
    const p1 = all.find((c) => c.name === "p-1");
    if (!p0 || !p1) throw new Error("clusters missing");
    await t.api.prisma.cluster.updateMany({ where: { id: p0.id }, data: { status: "connected", lastHeartbeatAt: new Date(Date.now() - 3600_000) } });
    await t.api.prisma.cluster.updateMany({ where: { id: p1.id }, data: { status: "connected", lastHeartbeatAt: new Date() } });
    expect((await op.cluster.list({ status: "disconnected" })).items.map((c) => [c.name, c.status])).toEqual([["p-0", "disconnected"]]);
    expect((await op.cluster.list({ status: "connected" })).items.map((c) => c.name)).toEqual(["p-1"]);
  });

  it("audit list filters by actor, action and time range, with cursors", async () => {
    const owner = callerFor(t.api, b.users.owner, b.id);
    const mid = new Date().toISOString();
    await owner.cluster.create({ name: "late" });
    const late = await owner.audit.list({ from: mid, action: "cluster.create" });
    expect(late.items.map((e) => e.metadata?.name)).toEqual(["late"]);
    const early = await owner.audit.list({ to: mid, action: "cluster.create", actorId: b.users.owner.id, limit: 2 });
    expect(early.items).toHaveLength(2);
    const rest = await owner.audit.list({ to: mid, action: "cluster.create", actorId: b.users.owner.id, limit: 50, cursor: early.nextCursor ?? undefined });
    expect([...early.items, ...rest.items].map((e) => e.metadata?.name)).toEqual(["p-4", "p-3", "p-2", "p-1", "p-0"]);
    expect(await codeOf(owner.audit.list({ from: mid, to: "2000-01-01T00:00:00Z" }))).toBe("BAD_REQUEST");
  });
});
