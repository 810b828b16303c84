import { z } from "zod";
import { invoiceSummarySchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { invoiceId } from "./schemas";

export const setInvoiceStatusInput = z.object({ id: invoiceId, status: z.enum(["paid", "void"]) });

/** finalized → paid | void, paid → void; a void invoice keeps its number. Audited. */
export const setInvoiceStatusRoute = orgProcedure
  .use(requireRole("billing"))
  .input(setInvoiceStatusInput)
  .output(invoiceSummarySchema)
  .mutation(({ ctx, input }) => ctx.services.billing.setInvoiceStatus(ctx.org, input));
