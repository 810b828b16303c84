import { z } from "zod";
import { nodeExclusionSchema } from "../../billing/dto";
import { isoDate } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { clusterId } from "./schemas";

export const excludeNodeInput = z.object({
  clusterId,
  nodeId: z.string().min(1).max(200).meta({ description: "The agent's node id" }),
  from: isoDate,
  to: isoDate.optional().meta({ description: "Exclusive end; omitted: until further notice" }),
  reason: z.string().max(500).default(""),
});

/** Keeps a node's hours in [from, to) off the bill (whole hours that overlap the range). Audited. */
export const excludeNodeRoute = orgProcedure
  .use(requireRole("billing"))
  .input(excludeNodeInput)
  .output(nodeExclusionSchema)
  .mutation(({ ctx, input }) => ctx.services.billing.excludeNode(ctx.org, input));
