import { z } from "zod";
import { kubernetesNodeListSchema } from "../../billing/kubernetes-nodes";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const listKubernetesNodesInput = z.object({ clusterId });

/** Any member may see the nodes (cluster read); billed node-hours are filled in only for roles that may read billing. */
export const listKubernetesNodesRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: {
      method: "GET",
      path: "/clusters/{clusterId}/kubernetes-nodes",
      tags: ["kubernetes"],
      summary: "List a cluster's Kubernetes nodes",
      description: "As the cluster's agent last listed them (a node missing from its latest list is gone), with node-hours billed this month for API keys whose role may read billing.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(listKubernetesNodesInput)
  .output(kubernetesNodeListSchema)
  .query(({ ctx, input }) => ctx.services.kubernetesNodes.list(ctx.org, input.clusterId));
