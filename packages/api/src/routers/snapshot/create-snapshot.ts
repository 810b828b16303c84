import { z } from "zod";
import { commandDtoSchema } from "../../dto/command";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";
import { snapshotName, volumeId } from "../volume/schemas";

export const createSnapshotInput = z.object({ id: volumeId, name: snapshotName });

export const createSnapshotRoute = orgProcedure
  .use(requireRole("operator"))
  .meta({
    openapi: {
      method: "POST",
      path: "/volumes/{id}/snapshots",
      tags: ["volumes"],
      summary: "Snapshot a volume",
      description: "Queues a snapshot.create command and returns it. Honours Idempotency-Key.",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(createSnapshotInput)
  .output(commandDtoSchema)
  .mutation(({ ctx, input }) => ctx.services.fleet.createSnapshot(ctx.org, input.id, input.name));
