import { z } from "zod";
import { clusterJoinSchema } from "../../dto/cluster";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";
import { clusterName } from "./schemas";

export const createClusterInput = z.object({ name: clusterName });

export const createClusterRoute = orgProcedure
  .use(requireRole("operator"))
  .meta({
    openapi: {
      method: "POST",
      path: "/clusters",
      tags: ["clusters"],
      summary: "Create a cluster",
      description:
        "Creates a pending cluster and returns a one-time join token with the install command to run against it. Honours Idempotency-Key.",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(createClusterInput)
  .output(clusterJoinSchema)
  .mutation(({ ctx, input }) => ctx.services.cluster.create(ctx.org, input));
