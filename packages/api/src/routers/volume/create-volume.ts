import { z } from "zod";
import { commandDtoSchema } from "../../dto/command";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";
import { volumeName } from "./schemas";

export const createVolumeInput = z.object({
  clusterId: z.uuid(),
  name: volumeName,
  sizeBytes: z.number().int().min(1 << 20).max(Number.MAX_SAFE_INTEGER).meta({ description: "At least 1 MiB" }),
  replicas: z.number().int().min(1).max(3).default(3),
  encrypted: z.boolean().default(false),
});

export const createVolumeRoute = orgProcedure
  .use(requireRole("operator"))
  .meta({
    openapi: {
      method: "POST",
      path: "/volumes",
      tags: ["volumes"],
      summary: "Create a volume",
      description:
        "Queues a volume.create command for the cluster's agent and returns it; follow it with GET /commands/{id}. The volume appears in GET /volumes once the agent reports it. Honours Idempotency-Key.",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(createVolumeInput)
  .output(commandDtoSchema)
  .mutation(({ ctx, input }) => ctx.services.fleet.createVolume(ctx.org, input));
