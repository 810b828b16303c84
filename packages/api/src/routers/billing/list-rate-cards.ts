import { z } from "zod";
import { rateCardDtoSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";

export const listRateCardsInput = z.object({});
export const listRateCardsOutput = z.object({
  items: z.array(rateCardDtoSchema),
  defaultCard: z.record(z.string(), z.unknown()).meta({ description: "The demo card that applies to months no stored card covers" }),
});

export const listRateCardsRoute = orgProcedure.use(requireRole("billing")).input(listRateCardsInput).output(listRateCardsOutput).query(({ ctx }) => ctx.services.billing.listRateCards(ctx.org));
