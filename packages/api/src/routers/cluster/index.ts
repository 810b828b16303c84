import type { TRPCRouterRecord } from "@trpc/server";
import { createClusterRoute } from "./create-cluster";
import { createJoinTokenRoute } from "./create-join-token";
import { deleteClusterRoute } from "./delete-cluster";
import { getClusterRoute } from "./get-cluster";
import { listClustersRoute } from "./list-clusters";
import { renameClusterRoute } from "./rename-cluster";

export const clusterRouter = {
  create: createClusterRoute,
  list: listClustersRoute,
  get: getClusterRoute,
  rename: renameClusterRoute,
  delete: deleteClusterRoute,
  createJoinToken: createJoinTokenRoute,
} satisfies TRPCRouterRecord;
