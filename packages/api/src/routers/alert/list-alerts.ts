import { z } from "zod";
import { pageInput, pageOf } from "../../dto/common";
import { alertKindSchema, alertSchema, alertStateSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listAlertsInput = z.object({ ...pageInput, state: alertStateSchema.optional(), clusterId: z.uuid().optional(), kind: alertKindSchema.optional() });

export const listAlertsRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({ openapi: { method: "GET", path: "/alerts", tags: ["alerts"], summary: "List alerts, newest first (open and resolved)", protect: true, errorResponses: READ_ERRORS } })
  .input(listAlertsInput)
  .output(pageOf(alertSchema))
  .query(({ ctx, input }) => ctx.services.fleet.listAlerts(ctx.org, { state: input.state, clusterId: input.clusterId, kind: input.kind }, input));
