import { z } from "zod";
import { isoDate } from "../../dto/common";
import { volumeMetricsSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { volumeId } from "./schemas";

export const getVolumeMetricsInput = z.object({
  id: volumeId,
  from: isoDate.optional().meta({ description: "Default: one hour before `to`" }),
  to: isoDate.optional().meta({ description: "Default: now" }),
});

export const getVolumeMetricsRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: {
      method: "GET",
      path: "/volumes/{id}/metrics",
      tags: ["volumes"],
      summary: "A volume's IOPS, throughput and latency over time",
      description: "Resolution follows the range: raw samples up to 2 hours, 1-minute rollups up to 2 days, hourly beyond. Latency p50 is a mean of p50s and p99 the worst p99 in a bucket.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(getVolumeMetricsInput)
  .output(volumeMetricsSchema)
  .query(({ ctx, input }) => ctx.services.fleet.volumeMetrics(ctx.org, input.id, input));
