import { rateCardSchema } from "@stowage/billing";
import { rateCardDtoSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";

/** Refused (naming the field) when it starts in the current or an earlier month, a price is negative, the currency unknown or not the organization's, or the months overlap another card's. */
export const createRateCardRoute = orgProcedure
  .use(requireRole("billing"))
  .input(rateCardSchema)
  .output(rateCardDtoSchema)
  .mutation(({ ctx, input }) => ctx.services.billing.createRateCard(ctx.org, input));
