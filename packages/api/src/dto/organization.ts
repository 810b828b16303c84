import { z } from "zod";
import { isoDate, roleSchema } from "./common";

export const organizationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    createdAt: isoDate,
    role: roleSchema.meta({ description: "The caller's role in this organization" }),
  })
  .meta({ id: "Organization" });
export type OrganizationDto = z.infer<typeof organizationSchema>;

export const memberSchema = z
  .object({
    id: z.string().meta({ description: "Membership id" }),
    userId: z.string(),
    name: z.string(),
    email: z.string(),
    role: roleSchema,
    createdAt: isoDate,
  })
  .meta({ id: "Member" });
export type MemberDto = z.infer<typeof memberSchema>;

export const invitationSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: roleSchema,
    status: z.string(),
    expiresAt: isoDate,
    createdAt: isoDate,
    acceptUrl: z.string().meta({ description: "Where the invitee accepts (after signing in with the invited email)" }),
  })
  .meta({ id: "Invitation" });
export type InvitationDto = z.infer<typeof invitationSchema>;
