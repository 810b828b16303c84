import type { TRPCRouterRecord } from "@trpc/server";
import { createSnapshotRoute } from "./create-snapshot";

export const snapshotRouter = {
  create: createSnapshotRoute,
} satisfies TRPCRouterRecord;
