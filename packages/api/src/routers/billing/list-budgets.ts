import { z } from "zod";
import { budgetSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listBudgetsInput = z.object({});

export const listBudgetsRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({
    openapi: { method: "GET", path: "/billing/budgets", tags: ["billing"], summary: "List budgets with this month's actual and forecast totals", protect: true, errorResponses: READ_ERRORS },
  })
  .input(listBudgetsInput)
  .output(z.object({ items: z.array(budgetSchema) }))
  .query(({ ctx }) => ctx.services.billing.listBudgets(ctx.org));
