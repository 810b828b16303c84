import type { TRPCRouterRecord } from "@trpc/server";
import { createClusterRoute } from "./create-cluster";
import { createJoinTokenRoute } from "./create-join-token";
import { deleteClusterRoute } from "./delete-cluster";
import { getClusterRoute } from "./get-cluster";
import { listClaimsRoute } from "./list-claims";
import { listClustersRoute } from "./list-clusters";
import { listKubernetesNodesRoute } from "./list-kubernetes-nodes";
import { listNamespacesRoute } from "./list-namespaces";
import { listStorageClassesRoute } from "./list-storage-classes";
import { renameClusterRoute } from "./rename-cluster";

export const clusterRouter = {
  create: createClusterRoute,
  list: listClustersRoute,
  get: getClusterRoute,
  rename: renameClusterRoute,
  delete: deleteClusterRoute,
  createJoinToken: createJoinTokenRoute,
  listNamespaces: listNamespacesRoute,
  listClaims: listClaimsRoute,
  listStorageClasses: listStorageClassesRoute,
  listKubernetesNodes: listKubernetesNodesRoute,
} satisfies TRPCRouterRecord;
