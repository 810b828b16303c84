import { z } from "zod";
import { pageInput, pageOf } from "../../dto/common";
import { alertKindSchema, alertSchema, alertStateSchema } from "../../dto/fleet";
import { roleAtLeast } from "../../auth/roles";
import { ORGANIZATION_ALERT_KINDS } from "../../repositories/alert";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listAlertsInput = z.object({ ...pageInput, state: alertStateSchema.optional(), clusterId: z.uuid().optional(), kind: alertKindSchema.optional() });

export const listAlertsRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({ openapi: { method: "GET", path: "/alerts", tags: ["alerts"], summary: "List alerts, newest first (open and resolved); budget alerts (organization-level, no cluster) only for roles that may read billing", protect: true, errorResponses: READ_ERRORS } })
  .input(listAlertsInput)
  .output(pageOf(alertSchema))
  .query(({ ctx, input }) =>
    ctx.services.fleet.listAlerts(
      ctx.org,
      // Budget alerts name spend: roles that may not see billing do not see them either.
      { state: input.state, clusterId: input.clusterId, kind: input.kind, hiddenKinds: roleAtLeast(ctx.org.role, "billing") ? [] : ORGANIZATION_ALERT_KINDS },
      input,
    ),
  );
