import { z } from "zod";
import { roleSchema } from "../../dto/common";
import { memberSchema } from "../../dto/organization";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";

export const changeMemberRoleInput = z.object({
  memberId: z.string().min(1).max(100).meta({ description: "Membership id (Member.id)" }),
  role: roleSchema,
});

export const changeMemberRoleRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "PATCH",
      path: "/organization/members/{memberId}",
      tags: ["organization"],
      summary: "Change a member's role",
      description: "Only owners change owners; the last owner cannot be demoted.",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(changeMemberRoleInput)
  .output(memberSchema)
  .mutation(({ ctx, input }) => ctx.services.organization.changeRole(ctx.org, input));
