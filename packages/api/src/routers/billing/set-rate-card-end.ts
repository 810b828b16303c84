import { z } from "zod";
import { rateCardDtoSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { monthKeySchema } from "./schemas";

export const setRateCardEndInput = z.object({
  id: z.uuid().meta({ description: "The rate card's id" }),
  effectiveTo: monthKeySchema.nullable().meta({ description: "First month the card no longer covers (after the current month); null: open-ended" }),
});

/**
 * Moves a card's end to a later month than the current one (or removes it), refused naming
 * `effectiveTo` when that month is not in the future or the range would overlap another card.
 * Ending the card in force is how prices change after an open-ended card. Audited.
 */
export const setRateCardEndRoute = orgProcedure
  .use(requireRole("billing"))
  .input(setRateCardEndInput)
  .output(rateCardDtoSchema)
  .mutation(({ ctx, input }) => ctx.services.billingRateCards.setEnd(ctx.org, input));
