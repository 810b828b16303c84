import { z } from "zod";
import { createdApiKeySchema } from "../../dto/api-key";
import { roleSchema } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { WRITE_ERRORS } from "../openapi";

export const createApiKeyInput = z.object({
  name: z.string().trim().min(1).max(100).meta({ example: "ci deploy" }),
  role: roleSchema.exclude(["owner"]).default("viewer"),
});

export const createApiKeyRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: {
      method: "POST",
      path: "/api-keys",
      tags: ["api-keys"],
      summary: "Create an API key",
      description: "The secret is in this response only. A key's role cannot exceed its creator's.",
      protect: true,
      errorResponses: WRITE_ERRORS,
    },
  })
  .input(createApiKeyInput)
  .output(createdApiKeySchema)
  .mutation(({ ctx, input }) => ctx.services.apiKey.create(ctx.org, input));
