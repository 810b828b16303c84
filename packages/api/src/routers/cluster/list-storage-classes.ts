import { z } from "zod";
import { kubernetesStorageClassListSchema } from "../../dto/kubernetes";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const listStorageClassesInput = z.object({ clusterId });

export const listStorageClassesRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: {
      method: "GET",
      path: "/clusters/{clusterId}/storage-classes",
      tags: ["kubernetes"],
      summary: "List a cluster's Kubernetes storage classes",
      description: "As the cluster's agent last reported them; `stowage` marks the classes Stowage provisions (csi.stowage.io).",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(listStorageClassesInput)
  .output(kubernetesStorageClassListSchema)
  .query(({ ctx, input }) => ctx.services.kubernetes.listStorageClasses(ctx.org, input.clusterId));
