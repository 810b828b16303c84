import { z } from "zod";
import { apiKeySchema } from "../../dto/api-key";
import { pageInput, pageOf } from "../../dto/common";
import { orgProcedure, requireRole } from "../../trpc";
import { READ_ERRORS } from "../openapi";

export const listApiKeysInput = z.object({ ...pageInput });

export const listApiKeysRoute = orgProcedure
  .use(requireRole("admin"))
  .meta({
    openapi: { method: "GET", path: "/api-keys", tags: ["api-keys"], summary: "List API keys, newest first", protect: true, errorResponses: READ_ERRORS },
  })
  .input(listApiKeysInput)
  .output(pageOf(apiKeySchema))
  .query(({ ctx, input }) => ctx.services.apiKey.list(ctx.org, input));
