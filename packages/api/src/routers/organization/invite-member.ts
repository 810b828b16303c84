import { z } from "zod";
import { roleSchema } from "../../dto/common";
import { invitationSchema } from "../../dto/organization";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";

export const inviteMemberInput = z.object({
  email: z.email().max(254),
  role: roleSchema.default("viewer"),
});

export const inviteMemberRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "POST",
      path: "/organization/invitations",
      tags: ["organization"],
      summary: "Invite someone by email",
      description: "Nobody can invite with a role above their own. A new invitation replaces a pending one for the same address.",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(inviteMemberInput)
  .output(invitationSchema)
  .mutation(({ ctx, input }) => ctx.services.organization.invite(ctx.org, input));
