import type { TRPCRouterRecord } from "@trpc/server";
import { createVolumeRoute } from "./create-volume";
import { deleteVolumeRoute } from "./delete-volume";
import { getVolumeRoute } from "./get-volume";
import { getVolumeMetricsRoute } from "./get-volume-metrics";
import { listVolumesRoute } from "./list-volumes";

export const volumeRouter = {
  list: listVolumesRoute,
  get: getVolumeRoute,
  create: createVolumeRoute,
  delete: deleteVolumeRoute,
  metrics: getVolumeMetricsRoute,
} satisfies TRPCRouterRecord;
