import { z } from "zod";
import { kubernetesNamespaceListSchema } from "../../dto/kubernetes";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const listNamespacesInput = z.object({ clusterId });

export const listNamespacesRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: {
      method: "GET",
      path: "/clusters/{clusterId}/namespaces",
      tags: ["kubernetes"],
      summary: "List a cluster's Kubernetes namespaces",
      description: "As the cluster's agent last reported them, with the Kubernetes version and the number of PersistentVolumeClaims in each. observedAt is null until the agent reports Kubernetes.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(listNamespacesInput)
  .output(kubernetesNamespaceListSchema)
  .query(({ ctx, input }) => ctx.services.kubernetes.listNamespaces(ctx.org, input.clusterId));
