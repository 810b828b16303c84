import type { TRPCRouterRecord } from "@trpc/server";
import { createApiKeyRoute } from "./create-api-key";
import { listApiKeysRoute } from "./list-api-keys";
import { revokeApiKeyRoute } from "./revoke-api-key";

export const apiKeyRouter = {
  create: createApiKeyRoute,
  list: listApiKeysRoute,
  revoke: revokeApiKeyRoute,
} satisfies TRPCRouterRecord;
