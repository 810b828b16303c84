import { z } from "zod";
import { invoiceSummarySchema } from "../../billing/dto";
import { pageInput, pageOf } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listInvoicesInput = z.object({ ...pageInput });

export const listInvoicesRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({
    openapi: {
      method: "GET",
      path: "/billing/invoices",
      tags: ["billing"],
      summary: "List invoices, newest month first",
      description: "The first page starts with the current month's live draft (id draft-YYYY-MM), followed by finalized, paid and void invoices.",
      protect: true,
      errorResponses: READ_ERRORS,
    },
  })
  .input(listInvoicesInput)
  .output(pageOf(invoiceSummarySchema))
  .query(({ ctx, input }) => ctx.services.billing.listInvoices(ctx.org, input));
