import { z } from "zod";
import { organizationSchema } from "../../dto/organization";
import { actorOf, authedProcedure } from "../../trpc";

/**
 * The signed-in user's organizations, for the switcher. Dashboard only: an
 * API key belongs to exactly one organization, so REST has no use for it.
 */
export const listOrganizationsRoute = authedProcedure
  .input(z.object({}).optional())
  .output(z.array(organizationSchema))
  .query(async ({ ctx }) => {
    const p = ctx.principal;
    if (p.type === "user") return ctx.services.organization.listForUser(p.userId);
    const org = await ctx.services.organization.get({
      organizationId: p.organizationId,
      role: p.role,
      actor: actorOf(p, ctx.request),
    });
    return [org];
  });
