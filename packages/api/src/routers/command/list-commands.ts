import { z } from "zod";
import { commandDtoSchema, commandStateSchema } from "../../dto/command";
import { pageInput, pageOf } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listCommandsInput = z.object({ ...pageInput, clusterId: z.uuid().optional(), state: commandStateSchema.optional(), volumeId: z.uuid().optional() });

export const listCommandsRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({ openapi: { method: "GET", path: "/commands", tags: ["commands"], summary: "List commands, newest first", protect: true, errorResponses: READ_ERRORS } })
  .input(listCommandsInput)
  .output(pageOf(commandDtoSchema))
  .query(({ ctx, input }) => ctx.services.command.list(ctx.org, { clusterId: input.clusterId, state: input.state, volumeId: input.volumeId }, input));
