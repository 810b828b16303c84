import { z } from "zod";
import { memberSchema } from "../../dto/organization";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listMembersRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: { method: "GET", path: "/organization/members", tags: ["organization"], summary: "Members and their roles", protect: true, errorResponses: READ_ERRORS },
  })
  .input(z.object({}))
  .output(z.object({ items: z.array(memberSchema) }))
  .query(async ({ ctx }) => ({ items: await ctx.services.organization.members(ctx.org) }));
