import { z } from "zod";
import { commandDtoSchema } from "../../dto/command";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";

export const getCommandInput = z.object({ id: z.uuid() });

export const getCommandRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({ openapi: { method: "GET", path: "/commands/{id}", tags: ["commands"], summary: "Get a command with its state, progress and result", protect: true, errorResponses: OBJECT_ERRORS } })
  .input(getCommandInput)
  .output(commandDtoSchema)
  .query(({ ctx, input }) => ctx.services.command.get(ctx.org, input.id));
