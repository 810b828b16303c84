import { z } from "zod";
import { explainLineSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { billingUnitSchema, clusterId, monthKeySchema } from "./schemas";

export const explainLineInput = z.object({
  month: monthKeySchema,
  clusterId,
  unit: billingUnitSchema,
  nodeClass: z.string().max(200).nullable().default(null).meta({ description: "The node class of a node_hour line with its own tiers; null: the default tiers" }),
});

/** From an invoice line (cluster, unit, month) to its hours and nodes; hours without telemetry are shown as not billed. */
export const explainLineRoute = orgProcedure
  .use(requireRole("billing"))
  .input(explainLineInput)
  .output(explainLineSchema)
  .query(({ ctx, input }) => ctx.services.billing.explainLine(ctx.org, input));
