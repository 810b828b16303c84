import { z } from "zod";
import { pageInput, pageOf } from "../../dto/common";
import { kubernetesClaimSchema } from "../../dto/kubernetes";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const listClaimsInput = z.object({
  ...pageInput,
  clusterId,
  // A reported name, matched exactly: no trimming, so any namespace the agent reported can be asked for.
  namespace: z.string().min(1).max(253).optional().meta({ description: "Only the claims of this namespace" }),
});

export const listClaimsRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: {
      method: "GET",
      path: "/clusters/{clusterId}/persistent-volume-claims",
      tags: ["kubernetes"],
      summary: "List a cluster's PersistentVolumeClaims by namespace and name",
      description: "As the cluster's agent last reported them: each with its Stowage volume when bound to one, the pods using it and their workloads.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(listClaimsInput)
  .output(pageOf(kubernetesClaimSchema))
  .query(({ ctx, input }) => ctx.services.kubernetes.listClaims(ctx.org, input.clusterId, { namespace: input.namespace }, input));
