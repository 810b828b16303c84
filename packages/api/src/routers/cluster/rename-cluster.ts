import { z } from "zod";
import { clusterSchema } from "../../dto/cluster";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";
import { clusterId, clusterName } from "./schemas";

export const renameClusterInput = z.object({ id: clusterId, name: clusterName });

export const renameClusterRoute = orgProcedure
  .use(requireRole("operator"))
  .meta({ openapi: { method: "PATCH", path: "/clusters/{id}", tags: ["clusters"], summary: "Rename a cluster", protect: true, errorResponses: WRITE_ERRORS } })
  .input(renameClusterInput)
  .output(clusterSchema)
  .mutation(({ ctx, input }) => ctx.services.cluster.rename(ctx.org, input.id, input.name));
