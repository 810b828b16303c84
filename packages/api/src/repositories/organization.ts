import { randomUUID } from "node:crypto";
import type { Db } from "../db";

export function organizationRepository(db: Db) {
  return {
    findById(organizationId: string) {
      return db.organization.findUnique({ where: { id: organizationId } });
    },

    findMembership(organizationId: string, userId: string) {
      return db.member.findUnique({ where: { organizationId_userId: { organizationId, userId } } });
    },

    listMembers(organizationId: string) {
      return db.member.findMany({
        where: { organizationId },
        include: { user: { select: { id: true, name: true, email: true } } },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      });
    },

    findMember(organizationId: string, memberId: string) {
      return db.member.findFirst({ where: { organizationId, id: memberId }, include: { user: { select: { id: true, name: true, email: true } } } });
    },

    async updateMemberRole(organizationId: string, memberId: string, role: string) {
      await db.member.updateMany({ where: { organizationId, id: memberId }, data: { role } });
    },

    countOwners(organizationId: string): Promise<number> {
      return db.member.count({ where: { organizationId, role: "owner" } });
    },

    /** Serialises role changes of one organization (last-owner check) until the transaction ends. */
    async lockMembers(organizationId: string): Promise<void> {
      await db.$queryRaw`SELECT id FROM "member" WHERE "organizationId" = ${organizationId} FOR UPDATE`;
    },

    create(data: { name: string; slug: string }) {
      return db.organization.create({ data: { id: randomUUID(), name: data.name, slug: data.slug } });
    },

    addMember(organizationId: string, userId: string, role: string) {
      return db.member.create({ data: { id: randomUUID(), organizationId, userId, role } });
    },

    createInvitation(organizationId: string, data: { email: string; role: string; inviterId: string; expiresAt: Date }) {
      return db.invitation.create({
        data: { id: randomUUID(), organizationId, email: data.email, role: data.role, inviterId: data.inviterId, expiresAt: data.expiresAt, status: "pending" },
      });
    },

    /** Pending invitations for the same address are superseded by a new one. */
    async cancelPendingInvitations(organizationId: string, email: string) {
      await db.invitation.updateMany({ where: { organizationId, email, status: "pending" }, data: { status: "canceled" } });
    },

    async isMemberByEmail(organizationId: string, email: string): Promise<boolean> {
      const n = await db.member.count({ where: { organizationId, user: { email } } });
      return n > 0;
    },

    // ---- not tenant-scoped: the caller's own memberships, and bootstrap ----

    listForUser(userId: string) {
      return db.member.findMany({ where: { userId }, include: { organization: true }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    },

    async anyExists(): Promise<boolean> {
      return (await db.organization.count()) > 0;
    },

    findBySlug(slug: string) {
      return db.organization.findUnique({ where: { slug } });
    },

    findOldest() {
      return db.organization.findFirst({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    },

    findUserByEmail(email: string) {
      return db.user.findUnique({ where: { email } });
    },
  };
}
