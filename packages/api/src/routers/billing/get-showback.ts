import { z } from "zod";
import { showbackSchema } from "../../billing/dto";
import { orgProcedure, requireRole } from "../../trpc";
import { clusterId, monthKeySchema } from "./schemas";

export const getShowbackInput = z.object({ clusterId, month: monthKeySchema.optional().meta({ description: "Default: the current month" }) });

/** A cluster's cost of a month split across its namespaces by claimed capacity × replicas; the rest is (unallocated). */
export const getShowbackRoute = orgProcedure
  .use(requireRole("billing"))
  .input(getShowbackInput)
  .output(showbackSchema)
  .query(({ ctx, input }) => ctx.services.billing.showback(ctx.org, input));
