import { z } from "zod";
import { clusterSchema, clusterStatusSchema } from "../../dto/cluster";
import { pageInput, pageOf } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listClustersInput = z.object({ ...pageInput, status: clusterStatusSchema.optional() });

export const listClustersRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: { method: "GET", path: "/clusters", tags: ["clusters"], summary: "List clusters, newest first", protect: true, errorResponses: READ_ERRORS },
  })
  .input(listClustersInput)
  .output(pageOf(clusterSchema))
  .query(({ ctx, input }) => ctx.services.cluster.list(ctx.org, input));
