import { z } from "zod";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const deleteClusterInput = z.object({ id: clusterId });
export const deleteClusterOutput = z.object({ id: z.uuid(), deleted: z.literal(true) });

export const deleteClusterRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "DELETE",
      path: "/clusters/{id}",
      tags: ["clusters"],
      summary: "Delete a cluster",
      description: "Removes the cluster and revokes its agent credential. Data in the cluster is untouched.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(deleteClusterInput)
  .output(deleteClusterOutput)
  .mutation(({ ctx, input }) => ctx.services.cluster.delete(ctx.org, input.id));
