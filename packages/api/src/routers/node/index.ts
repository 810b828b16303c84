import type { TRPCRouterRecord } from "@trpc/server";
import { listNodesRoute } from "./list-nodes";

export const nodeRouter = {
  list: listNodesRoute,
} satisfies TRPCRouterRecord;
