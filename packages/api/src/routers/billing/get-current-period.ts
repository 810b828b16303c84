import { z } from "zod";
import { currentPeriodSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const getCurrentPeriodInput = z.object({});

export const getCurrentPeriodRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({
    openapi: {
      method: "GET",
      path: "/billing/current-period",
      tags: ["billing"],
      summary: "This month's cost so far and its month-end forecast, per cluster",
      description: "Computed live from the usage ledger with the rate card in effect. The forecast adds the run rate of the last 24 complete hours with telemetry times the hours left.",
      protect: true,
      errorResponses: READ_ERRORS,
    },
  })
  .input(getCurrentPeriodInput)
  .output(currentPeriodSchema)
  .query(({ ctx }) => ctx.services.billing.currentPeriod(ctx.org));
