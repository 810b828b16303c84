import { z } from "zod";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";

export const deleteBudgetInput = z.object({ id: z.uuid() });
export const deleteBudgetOutput = z.object({ id: z.uuid(), deleted: z.literal(true) });

export const deleteBudgetRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({ openapi: { method: "DELETE", path: "/billing/budgets/{id}", tags: ["billing"], summary: "Delete a budget", protect: true, errorResponses: OBJECT_ERRORS } })
  .input(deleteBudgetInput)
  .output(deleteBudgetOutput)
  .mutation(({ ctx, input }) => ctx.services.billing.deleteBudget(ctx.org, input.id));
