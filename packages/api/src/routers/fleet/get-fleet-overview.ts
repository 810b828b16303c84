import { z } from "zod";
import { fleetOverviewSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";

export const getFleetOverviewInput = z.object({}).optional();

/** Dashboard only (no REST): one row per cluster from the figures ingest keeps current, so it never scans samples. */
export const getFleetOverviewRoute = orgProcedure
  .use(requireRole("viewer"))
  .input(getFleetOverviewInput)
  .output(fleetOverviewSchema)
  .query(({ ctx }) => ctx.services.fleet.overview(ctx.org));
