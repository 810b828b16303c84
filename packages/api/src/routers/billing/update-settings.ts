import { z } from "zod";
import { currencyCodeSchema, settingsSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";

export const updateSettingsInput = z.object({
  currency: currencyCodeSchema.optional(),
  taxRateBasisPoints: z.number().int().min(0).max(10_000).optional().meta({ description: "Tax rate in basis points (1 % = 100)" }),
  gracePeriodMinutes: z.number().int().min(0).max(7 * 24 * 60).optional().meta({ description: "A month is finalized this long after it ends" }),
});

export const updateSettingsRoute = orgProcedure
  .use(requireRole("billing"))
  .input(updateSettingsInput)
  .output(settingsSchema)
  .mutation(({ ctx, input }) => ctx.services.billing.updateSettings(ctx.org, input));
