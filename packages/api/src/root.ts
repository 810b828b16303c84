import { alertRouter } from "./routers/alert";
import { apiKeyRouter } from "./routers/api-key";
import { billingRouter } from "./routers/billing";
import { auditRouter } from "./routers/audit";
import { clusterRouter } from "./routers/cluster";
import { commandRouter } from "./routers/command";
import { fleetRouter } from "./routers/fleet";
import { nodeRouter } from "./routers/node";
import { organizationRouter } from "./routers/organization";
import { snapshotRouter } from "./routers/snapshot";
import { volumeRouter } from "./routers/volume";
import { router } from "./trpc";

export const appRouter = router({
  organization: organizationRouter,
  apiKey: apiKeyRouter,
  cluster: clusterRouter,
  audit: auditRouter,
  fleet: fleetRouter,
  node: nodeRouter,
  volume: volumeRouter,
  snapshot: snapshotRouter,
  command: commandRouter,
  alert: alertRouter,
  billing: billingRouter,
});

export type AppRouter = typeof appRouter;
