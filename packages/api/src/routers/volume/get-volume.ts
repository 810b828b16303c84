import { z } from "zod";
import { volumeDetailSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { volumeId } from "./schemas";

export const getVolumeInput = z.object({ id: volumeId });

export const getVolumeRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: { method: "GET", path: "/volumes/{id}", tags: ["volumes"], summary: "Get a volume with its replicas, placement and snapshots", protect: true, errorResponses: OBJECT_ERRORS },
  })
  .input(getVolumeInput)
  .output(volumeDetailSchema)
  .query(({ ctx, input }) => ctx.services.fleet.getVolume(ctx.org, input.id));
