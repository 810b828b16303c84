import { z } from "zod";
import { budgetSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";
import { budgetAmount, budgetName, budgetThresholds } from "./schemas";

export const createBudgetInput = z.object({ name: budgetName, amountMinor: budgetAmount, thresholds: budgetThresholds.default([50, 80, 100]) });

export const createBudgetRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({
    openapi: {
      method: "POST",
      path: "/billing/budgets",
      tags: ["billing"],
      summary: "Create a monthly budget",
      description: "Each threshold crossed raises one alert per month, on the actual total (budget_actual) and on the forecast (budget_forecast).",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(createBudgetInput)
  .output(budgetSchema)
  .mutation(({ ctx, input }) => ctx.services.billing.createBudget(ctx.org, input));
