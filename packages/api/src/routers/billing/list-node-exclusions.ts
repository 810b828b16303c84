import { z } from "zod";
import { nodeExclusionItemSchema } from "../../billing/exclusion-service";
import { orgProcedure, requireRole } from "../../trpc";
import { clusterId } from "./schemas";

export const listNodeExclusionsInput = z.object({ clusterId: clusterId.optional().meta({ description: "Only this cluster's exclusions; default: all clusters" }) });
export const listNodeExclusionsOutput = z.object({ items: z.array(nodeExclusionItemSchema) });

/** Every node exclusion of the organization, newest first, with its state (scheduled, active, ended) at the server's clock. */
export const listNodeExclusionsRoute = orgProcedure
  .use(requireRole("billing"))
  .input(listNodeExclusionsInput)
  .output(listNodeExclusionsOutput)
  .query(({ ctx, input }) => ctx.services.billingExclusions.list(ctx.org, input));
