import type { TRPCRouterRecord } from "@trpc/server";
import { getFleetMetricsRoute } from "./get-fleet-metrics";
import { getFleetOverviewRoute } from "./get-fleet-overview";

export const fleetRouter = {
  overview: getFleetOverviewRoute,
  metrics: getFleetMetricsRoute,
} satisfies TRPCRouterRecord;
