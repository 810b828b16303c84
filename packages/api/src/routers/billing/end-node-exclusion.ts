import { z } from "zod";
import { endedExclusionSchema } from "../../billing/exclusion-service";
import { orgProcedure, requireRole } from "../../trpc";

export const endNodeExclusionInput = z.object({ id: z.uuid().meta({ description: "The exclusion's id" }) });

/**
 * Ends an exclusion now (the node's hours are billed again from the next hour); one that has not
 * started yet is removed. CONFLICT naming `id` when it already ended. Audited.
 */
export const endNodeExclusionRoute = orgProcedure
  .use(requireRole("billing"))
  .input(endNodeExclusionInput)
  .output(endedExclusionSchema)
  .mutation(({ ctx, input }) => ctx.services.billingExclusions.end(ctx.org, input));
