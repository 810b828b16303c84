import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { organization } from "better-auth/plugins/organization";
import type { Actor } from "../actor";
import type { PrismaClient } from "../db";
import type { Logger } from "../lib/logger";
import { auditRepository, type AuditRecord } from "../repositories/audit";
import { accessControl, accessRoles } from "./roles";

export { BILLING_ROLES, ROLES, isRole, roleAtLeast, roleRank, accessControl, accessRoles, statements, type Role } from "./roles";

export const AUTH_BASE_PATH = "/api/auth";

export interface AuthOptions {
  prisma: PrismaClient;
  baseUrl: string;
  secret: string;
  trustedOrigins: string[];
  log: Logger;
}

function userActor(user: { id: string; email: string }): Actor {
  return { type: "user", id: user.id, label: user.email, ip: null, userAgent: null };
}

/**
 * better-auth: email + password, database sessions (cookie), organizations
 * with our four roles. The creator of an organization becomes its owner.
 */
export function createAuth(opts: AuthOptions) {
  const audit = async (organizationId: string, actor: Actor, record: AuditRecord) => {
    // These endpoints belong to better-auth, so the row cannot share its
    // transaction; a failed audit write is logged rather than failing a change
    // that already happened.
    try {
      await auditRepository(opts.prisma).insert(organizationId, actor, record);
    } catch (err) {
      opts.log.error({ err, organizationId, action: record.action }, "audit write failed");
    }
  };
  return betterAuth({
    appName: "Stowage",
    baseURL: opts.baseUrl,
    basePath: AUTH_BASE_PATH,
    secret: opts.secret,
    trustedOrigins: opts.trustedOrigins,
    database: prismaAdapter(opts.prisma, { provider: "postgresql" }),
    emailAndPassword: { enabled: true, autoSignIn: true, minPasswordLength: 8, maxPasswordLength: 256 },
    session: { expiresIn: 60 * 60 * 24 * 7, updateAge: 60 * 60 * 24 },
    telemetry: { enabled: false },
    logger: {
      log: (level, message) => {
        // better-auth's text goes into a field, so our message stays constant.
        const fields = { component: "better-auth", detail: message };
        if (level === "error") opts.log.error(fields, "auth error");
        else if (level === "warn") opts.log.warn(fields, "auth warning");
        else opts.log.debug(fields, "auth event");
      },
    },
    plugins: [
      organization({
        ac: accessControl,
        roles: accessRoles,
        creatorRole: "owner",
        invitationExpiresIn: 7 * 24 * 60 * 60,
        organizationHooks: {
          afterCreateOrganization: async ({ organization: org, user }) => {
            await audit(org.id, userActor(user), {
              action: "organization.create",
              targetType: "organization",
              targetId: org.id,
              metadata: { slug: org.slug },
            });
          },
          afterUpdateOrganization: async ({ organization: org, user }) => {
            if (org) await audit(org.id, userActor(user), { action: "organization.update", targetType: "organization", targetId: org.id });
          },
          afterAcceptInvitation: async ({ invitation, member, user }) => {
            await audit(member.organizationId, userActor(user), {
              action: "member.join",
              targetType: "member",
              targetId: member.id,
              metadata: { invitationId: invitation.id, role: member.role },
            });
          },
          afterRemoveMember: async ({ member, user }) => {
            await audit(member.organizationId, userActor(user), { action: "member.remove", targetType: "member", targetId: member.id });
          },
        },
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
