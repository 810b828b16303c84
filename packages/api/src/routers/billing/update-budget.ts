import { z } from "zod";
import { budgetSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";
import { budgetAmount, budgetName, budgetThresholds } from "./schemas";

export const updateBudgetInput = z.object({ id: z.uuid(), name: budgetName.optional(), amountMinor: budgetAmount.optional(), thresholds: budgetThresholds.optional() });

export const updateBudgetRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({ openapi: { method: "PATCH", path: "/billing/budgets/{id}", tags: ["billing"], summary: "Change a budget", protect: true, errorResponses: WRITE_ERRORS } })
  .input(updateBudgetInput)
  .output(budgetSchema)
  .mutation(({ ctx, input }) => ctx.services.billing.updateBudget(ctx.org, input));
