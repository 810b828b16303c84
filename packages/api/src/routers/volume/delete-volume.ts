import { z } from "zod";
import { commandDtoSchema } from "../../dto/command";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { volumeId } from "./schemas";

export const deleteVolumeInput = z.object({ id: volumeId });

/** Admin, like deleting a cluster: it destroys data, which operators' everyday actions do not. */
export const deleteVolumeRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "DELETE",
      path: "/volumes/{id}",
      tags: ["volumes"],
      summary: "Delete a volume",
      description: "Queues a volume.delete command and returns it (or the delete already under way). Needs the admin role: the data is destroyed.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(deleteVolumeInput)
  .output(commandDtoSchema)
  .mutation(({ ctx, input }) => ctx.services.fleet.deleteVolume(ctx.org, input.id));
