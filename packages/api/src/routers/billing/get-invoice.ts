import { z } from "zod";
import { invoiceDetailSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { invoiceId } from "./schemas";

export const getInvoiceInput = z.object({ id: invoiceId });

export const getInvoiceRoute = orgProcedure
  .use(requireRole("billing"))
  .meta({
    openapi: {
      method: "GET",
      path: "/billing/invoices/{id}",
      tags: ["billing"],
      summary: "Get an invoice with its lines",
      description: "PDF and CSV: GET /billing/invoices/{id}.pdf and /billing/invoices/{id}.csv.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(getInvoiceInput)
  .output(invoiceDetailSchema)
  .query(({ ctx, input }) => ctx.services.billing.getInvoice(ctx.org, input.id));
