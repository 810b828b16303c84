import { z } from "zod";
import { isoDate } from "../../dto/common";
import { fleetMetricsSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";

export const getFleetMetricsInput = z.object({
  clusterId: z.uuid().optional().meta({ description: "One cluster; omitted for the whole fleet" }),
  from: isoDate.optional().meta({ description: "Default: one hour before `to`" }),
  to: isoDate.optional().meta({ description: "Default: now" }),
});

/** Dashboard charts (no REST): IOPS, throughput, latency and capacity of a cluster or the fleet. */
export const getFleetMetricsRoute = orgProcedure
  .use(requireRole("viewer"))
  .input(getFleetMetricsInput)
  .output(fleetMetricsSchema)
  .query(({ ctx, input }) => ctx.services.fleet.metrics(ctx.org, input));
