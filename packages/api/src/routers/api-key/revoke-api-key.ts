import { z } from "zod";
import { apiKeySchema } from "../../dto/api-key";
import { orgProcedure, requireRole } from "../../trpc";
import { OBJECT_ERRORS } from "../openapi";

export const revokeApiKeyInput = z.object({ id: z.uuid() });

export const revokeApiKeyRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "POST",
      path: "/api-keys/{id}/revoke",
      tags: ["api-keys"],
      summary: "Revoke an API key",
      description: "Takes effect on the next request. Revoking a revoked key changes nothing.",
      protect: true,
      errorResponses: OBJECT_ERRORS,
    },
  })
  .input(revokeApiKeyInput)
  .output(apiKeySchema)
  .mutation(({ ctx, input }) => ctx.services.apiKey.revoke(ctx.org, input.id));
