import { z } from "zod";
import { pageInput, pageOf } from "../../dto/common";
import { volumeSchema, volumeStateSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listVolumesInput = z.object({
  ...pageInput,
  clusterId: z.uuid().optional(),
  state: volumeStateSchema.optional(),
  search: z.string().trim().min(1).max(200).optional().meta({ description: "Part of the name (case-insensitive), or the agent's exact volume id" }),
});

export const listVolumesRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({ openapi: { method: "GET", path: "/volumes", tags: ["volumes"], summary: "List volumes, newest first", protect: true, errorResponses: READ_ERRORS } })
  .input(listVolumesInput)
  .output(pageOf(volumeSchema))
  .query(({ ctx, input }) => ctx.services.fleet.listVolumes(ctx.org, { clusterId: input.clusterId, state: input.state, search: input.search }, input));
