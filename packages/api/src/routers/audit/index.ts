import type { TRPCRouterRecord } from "@trpc/server";
import { listAuditEventsRoute } from "./list-audit-events";

export const auditRouter = {
  list: listAuditEventsRoute,
} satisfies TRPCRouterRecord;
