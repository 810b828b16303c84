import { z } from "zod";
import { organizationSchema } from "../../dto/organization";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const getOrganizationRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: { method: "GET", path: "/organization", tags: ["organization"], summary: "The organization the caller acts in", protect: true, errorResponses: READ_ERRORS },
  })
  .input(z.object({}))
  .output(organizationSchema)
  .query(({ ctx }) => ctx.services.organization.get(ctx.org));
