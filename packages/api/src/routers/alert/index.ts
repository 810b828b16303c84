import type { TRPCRouterRecord } from "@trpc/server";
import { listAlertsRoute } from "./list-alerts";

export const alertRouter = {
  list: listAlertsRoute,
} satisfies TRPCRouterRecord;
