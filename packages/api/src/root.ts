import { apiKeyRouter } from "./routers/api-key";
import { auditRouter } from "./routers/audit";
import { clusterRouter } from "./routers/cluster";
import { organizationRouter } from "./routers/organization";
import { router } from "./trpc";

export const appRouter = router({
  organization: organizationRouter,
  apiKey: apiKeyRouter,
  cluster: clusterRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
