import { z } from "zod";
import { settingsSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";

export const getSettingsInput = z.object({});

export const getSettingsRoute = orgProcedure.use(requireRole("billing")).input(getSettingsInput).output(settingsSchema).query(({ ctx }) => ctx.services.billing.getSettings(ctx.org));
