import { z } from "zod";
import { clusterJoinSchema } from "../../dto/cluster";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const createJoinTokenInput = z.object({ id: clusterId });

export const createJoinTokenRoute = orgProcedure
  .use(requireRole("operator"))
  .meta({
    openapi: {
      method: "POST",
      path: "/clusters/{id}/join-tokens",
      tags: ["clusters"],
      summary: "Create a new join token for a cluster",
      description: "For an expired token or a reinstall. Registering with it replaces the cluster's agent credential.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(createJoinTokenInput)
  .output(clusterJoinSchema)
  .mutation(({ ctx, input }) => ctx.services.cluster.createJoinToken(ctx.org, input.id));
