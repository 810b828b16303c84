import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerFor, createOrgWithRoles, createTestApi, createUser, type TestApi, type TestOrg } from "../../test-support/fixtures";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}

describe("organization procedures", () => {
  let t: TestApi;
  let a: TestOrg;

  beforeAll(async () => {
    t = await createTestApi();
    a = await createOrgWithRoles(t.api, "alpha");
  });
  afterAll(async () => {
    await t.close();
  });

  it("gets the organization with the caller's role, and lists members", async () => {
    const org = await callerFor(t.api, a.users.operator, a.id).organization.get({});
    expect(org).toMatchObject({ id: a.id, slug: a.slug, role: "operator" });
    const { items } = await callerFor(t.api, a.users.viewer, a.id).organization.members({});
    expect(items.map((m) => m.role).sort()).toEqual(["admin", "billing", "operator", "owner", "viewer"]);
    expect(items.find((m) => m.role === "owner")?.email).toBe(a.users.owner.email);
  });

  it("falls back to the first organization when the session has no active one", async () => {
    const org = await callerFor(t.api, a.users.viewer, null).organization.get({});
    expect(org.id).toBe(a.id);
  });

  it("invites by email with a role no higher than the inviter's, replacing a pending invitation", async () => {
    const admin = callerFor(t.api, a.users.admin, a.id);
    const inv = await admin.organization.invite({ email: "New.Person@Example.test", role: "operator" });
    expect(inv).toMatchObject({ email: "new.person@example.test", role: "operator", status: "pending" });
    expect(inv.acceptUrl).toContain(inv.id);
    const again = await admin.organization.invite({ email: "new.person@example.test", role: "viewer" });
    const rows = await t.api.prisma.invitation.findMany({ where: { organizationId: a.id, email: "new.person@example.test" } });
    expect(rows.filter((r) => r.status === "pending").map((r) => r.id)).toEqual([again.id]);

    expect(await codeOf(admin.organization.invite({ email: "boss@example.test", role: "owner" }))).toBe("FORBIDDEN");
    expect(await codeOf(admin.organization.invite({ email: a.users.viewer.email, role: "viewer" }))).toBe("CONFLICT");
    expect(await codeOf(admin.organization.invite({ email: "not-an-email", role: "viewer" }))).toBe("BAD_REQUEST");
  });

  it("changes roles within the caller's reach and keeps at least one owner", async () => {
    const owner = callerFor(t.api, a.users.owner, a.id);
    const admin = callerFor(t.api, a.users.admin, a.id);
    const promoted = await admin.organization.changeRole({ memberId: a.members.viewer, role: "operator" });
    expect(promoted.role).toBe("operator");
    const demoted = await admin.organization.changeRole({ memberId: a.members.viewer, role: "viewer" });
    expect(demoted.role).toBe("viewer");

    // An admin neither creates nor touches owners.
    expect(await codeOf(admin.organization.changeRole({ memberId: a.members.viewer, role: "owner" }))).toBe("FORBIDDEN");
    expect(await codeOf(admin.organization.changeRole({ memberId: a.members.owner, role: "admin" }))).toBe("FORBIDDEN");
    // The last owner cannot step down.
    expect(await codeOf(owner.organization.changeRole({ memberId: a.members.owner, role: "admin" }))).toBe("CONFLICT");
    // Unknown member: NOT_FOUND.
    expect(await codeOf(owner.organization.changeRole({ memberId: "nope", role: "viewer" }))).toBe("NOT_FOUND");

    const audit = await owner.audit.list({ action: "member.role_change", targetId: a.members.viewer });
    expect(audit.items.map((e) => e.metadata)).toEqual([
      expect.objectContaining({ from: "operator", to: "viewer" }),
      expect.objectContaining({ from: "viewer", to: "operator" }),
    ]);
    expect(audit.items[0]?.actor).toMatchObject({ type: "user", id: a.users.admin.id, label: a.users.admin.email });
  });

  it("lists only the caller's own organizations", async () => {
    const b = await createOrgWithRoles(t.api, "bravo");
    const loner = await createUser(t.api, "loner");
    const mine = await callerFor(t.api, a.users.owner, a.id).organization.list();
    expect(mine.map((o) => o.id)).toEqual([a.id]);
    expect(await callerFor(t.api, loner, null).organization.list()).toEqual([]);
    expect(await codeOf(callerFor(t.api, loner, null).organization.get({}))).toBe("PRECONDITION_FAILED");
    expect(await codeOf(callerFor(t.api, loner, b.id).cluster.list({}))).toBe("FORBIDDEN");
  });
});
