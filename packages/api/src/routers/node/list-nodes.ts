import { z } from "zod";
import { nodeSchema } from "../../dto/fleet";
import { orgProcedure, requireRole } from "../../trpc";
import { clusterId } from "../cluster/schemas";
import { OBJECT_ERRORS } from "../openapi";

export const listNodesInput = z.object({ id: clusterId });

export const listNodesRoute = orgProcedure
  .use(requireRole("viewer"))
  .meta({
    openapi: {
      method: "GET",
      path: "/clusters/{id}/nodes",
      tags: ["fleet"],
      summary: "List a cluster's nodes with their pools",
      description: "As the cluster's agent last reported them (zone, rack, status, pool capacity and health).",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(listNodesInput)
  .output(z.object({ items: z.array(nodeSchema) }))
  .query(({ ctx, input }) => ctx.services.fleet.listNodes(ctx.org, input.id));
