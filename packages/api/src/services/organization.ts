import type { Member, Organization } from "@stowage/prisma";
import type { Actor } from "../actor";
import { isRole, roleAtLeast, type Role } from "../auth/roles";
import type { ResolvedConfig } from "../config";
import type { Db, PrismaClient } from "../db";
import { iso } from "../dto/common";
import type { InvitationDto, MemberDto, OrganizationDto } from "../dto/organization";
import { AppError } from "../errors";
import { callLog, type Logger } from "../lib/logger";
import { auditRepository } from "../repositories/audit";
import { organizationRepository } from "../repositories/organization";
import type { OrgScope } from "../scope";

const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A stored role we do not know (edited by hand, or from an older version) counts as the weakest. */
function roleOf(stored: string): Role {
  return isRole(stored) ? stored : "viewer";
}

function toOrganizationDto(o: Organization, role: Role): OrganizationDto {
  return { id: o.id, name: o.name, slug: o.slug, createdAt: iso(o.createdAt), role };
}

function toMemberDto(m: Member & { user: { id: string; name: string; email: string } }): MemberDto {
  return { id: m.id, userId: m.userId, name: m.user.name, email: m.user.email, role: roleOf(m.role), createdAt: iso(m.createdAt) };
}

export class OrganizationService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
  ) {}

  /**
   * The organization a signed-in user acts in: the session's active
   * organization, or, when none is set yet, the one they joined first.
   */
  async resolveForUser(userId: string, activeOrganizationId: string | null): Promise<{ organizationId: string; role: Role }> {
    const orgs = organizationRepository(this.prisma);
    if (activeOrganizationId) {
      const m = await orgs.findMembership(activeOrganizationId, userId);
      if (!m) throw new AppError("FORBIDDEN", "You are not a member of the active organization");
      return { organizationId: m.organizationId, role: roleOf(m.role) };
    }
    const [first] = await orgs.listForUser(userId);
    if (!first) throw new AppError("NO_ACTIVE_ORGANIZATION", "Create or join an organization first");
    return { organizationId: first.organizationId, role: roleOf(first.role) };
  }

  async get(scope: OrgScope): Promise<OrganizationDto> {
    const o = await organizationRepository(this.prisma).findById(scope.organizationId);
    if (!o) throw new AppError("NOT_FOUND", "Organization not found");
    return toOrganizationDto(o, scope.role);
  }

  async listForUser(userId: string): Promise<OrganizationDto[]> {
    const rows = await organizationRepository(this.prisma).listForUser(userId);
    return rows.map((m) => toOrganizationDto(m.organization, roleOf(m.role)));
  }

  async members(scope: OrgScope): Promise<MemberDto[]> {
    const rows = await organizationRepository(this.prisma).listMembers(scope.organizationId);
    return rows.map(toMemberDto);
  }

  async invite(scope: OrgScope, input: { email: string; role: Role }): Promise<InvitationDto> {
    if (!roleAtLeast(scope.role, input.role)) {
      throw new AppError("FORBIDDEN", `A ${scope.role} cannot invite a ${input.role}`);
    }
    const email = input.email.toLowerCase();
    const invitation = await this.prisma.$transaction(async (tx) => {
      const orgs = organizationRepository(tx);
      if (await orgs.isMemberByEmail(scope.organizationId, email)) {
        throw new AppError("CONFLICT", `${email} is already a member`, [{ path: "email", message: "already a member" }]);
      }
      const inviterId = await this.inviterUserId(tx, scope);
      await orgs.cancelPendingInvitations(scope.organizationId, email);
      const created = await orgs.createInvitation(scope.organizationId, {
        email,
        role: input.role,
        inviterId,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      });
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "member.invite",
        targetType: "invitation",
        targetId: created.id,
        metadata: { email, role: input.role },
      });
      return created;
    });
    callLog(this.log, "organization", scope).info({ organizationId: scope.organizationId, invitationId: invitation.id }, "invitation created");
    return {
      id: invitation.id,
      email: invitation.email,
      role: roleOf(invitation.role ?? "viewer"),
      status: invitation.status,
      expiresAt: iso(invitation.expiresAt),
      createdAt: iso(invitation.createdAt),
      acceptUrl: `${this.config.baseUrl}/invitations/${invitation.id}`,
    };
  }

  /**
   * better-auth's invitation table wants a user as inviter. An invitation made
   * with an API key names the organization's first owner there; the audit log
   * still records the key as the actor.
   */
  private async inviterUserId(db: Db, scope: OrgScope): Promise<string> {
    if (scope.actor.type === "user") return scope.actor.id;
    const owner = (await organizationRepository(db).listMembers(scope.organizationId)).find((m) => m.role === "owner");
    if (!owner) throw new AppError("CONFLICT", "The organization has no owner to send invitations on behalf of");
    return owner.userId;
  }

  async changeRole(scope: OrgScope, input: { memberId: string; role: Role }): Promise<MemberDto> {
    const updated = await this.prisma.$transaction(async (tx) => {
      const orgs = organizationRepository(tx);
      await orgs.lockMembers(scope.organizationId);
      const member = await orgs.findMember(scope.organizationId, input.memberId);
      if (!member) throw new AppError("NOT_FOUND", "Member not found");
      const current = roleOf(member.role);
      // Nobody hands out or takes away more than they hold; only owners touch owners.
      if (!roleAtLeast(scope.role, current) || !roleAtLeast(scope.role, input.role)) {
        throw new AppError("FORBIDDEN", `A ${scope.role} cannot change a ${current} to ${input.role}`);
      }
      if (current === "owner" && input.role !== "owner" && (await orgs.countOwners(scope.organizationId)) <= 1) {
        throw new AppError("CONFLICT", "An organization needs at least one owner", [{ path: "role", message: "last owner" }]);
      }
      if (current !== input.role) {
        await orgs.updateMemberRole(scope.organizationId, member.id, input.role);
        await auditRepository(tx).insert(scope.organizationId, scope.actor, {
          action: "member.role_change",
          targetType: "member",
          targetId: member.id,
          metadata: { userId: member.userId, from: current, to: input.role },
        });
      }
      return { ...member, role: input.role };
    });
    return toMemberDto(updated);
  }

  /** Creates an organization with `ownerUserId` as owner (bootstrap, fixtures). */
  async createWithOwner(db: Db, input: { name: string; slug: string; ownerUserId: string }, actor: Actor): Promise<Organization> {
    const orgs = organizationRepository(db);
    const org = await orgs.create({ name: input.name, slug: input.slug });
    await orgs.addMember(org.id, input.ownerUserId, "owner");
    await auditRepository(db).insert(org.id, actor, { action: "organization.create", targetType: "organization", targetId: org.id, metadata: { slug: org.slug } });
    return org;
  }

  /** Adds an existing user with a role, audited (fixtures, accepted invitations made outside better-auth). */
  async addMember(scope: OrgScope, input: { userId: string; role: Role }): Promise<MemberDto> {
    const m = await this.prisma.$transaction(async (tx) => {
      const orgs = organizationRepository(tx);
      const created = await orgs.addMember(scope.organizationId, input.userId, input.role);
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "member.add",
        targetType: "member",
        targetId: created.id,
        metadata: { userId: input.userId, role: input.role },
      });
      const found = await orgs.findMember(scope.organizationId, created.id);
      if (!found) throw new AppError("INTERNAL", "member vanished");
      return found;
    });
    return toMemberDto(m);
  }

  /** Audit row for an organization created through better-auth's own endpoint. */
  async recordCreatedByAuth(organizationId: string, actor: Actor, slug: string): Promise<void> {
    await auditRepository(this.prisma).insert(organizationId, actor, {
      action: "organization.create",
      targetType: "organization",
      targetId: organizationId,
      metadata: { slug },
    });
  }
}
