import { z } from "zod";
import { clusterSchema } from "../../dto/cluster";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";
import { clusterId } from "./schemas";

export const getClusterInput = z.object({ id: clusterId });

export const getClusterRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({ openapi: { method: "GET", path: "/clusters/{id}", tags: ["clusters"], summary: "Get a cluster", protect: true, errorResponses: OBJECT_ERRORS } })
  .input(getClusterInput)
  .output(clusterSchema)
  .query(({ ctx, input }) => ctx.services.cluster.get(ctx.org, input.id));
