import { z } from "zod";
import { usageSchema } from "../../billing/dto";
import { isoDate } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";
import { billingUnitSchema, clusterId } from "./schemas";

export const getUsageInput = z.object({
  granularity: z.enum(["hour", "day"]).default("day"),
  clusterId: clusterId.optional(),
  unit: billingUnitSchema.optional(),
  from: isoDate.optional().meta({ description: "Start (inclusive, rounded down to the hour or day); default: the start of this month" }),
  to: isoDate.optional().meta({ description: "End (exclusive); default: now. At most 31 days by hour, 400 by day" }),
});

export const getUsageRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({
    openapi: {
      method: "GET",
      path: "/billing/usage",
      tags: ["billing"],
      summary: "Metered usage by hour or day, per cluster and unit",
      description: "Node-hours and GiB-hours (provisioned, replicated) from the usage ledger, before pricing. Hours without telemetry count nothing.",
      protect: true,
      errorResponses: READ_ERRORS,
    },
  })
  .input(getUsageInput)
  .output(usageSchema)
  .query(({ ctx, input }) => ctx.services.billing.usage(ctx.org, input));
