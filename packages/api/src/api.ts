import { createPrismaClient } from "@stowage/prisma";
import pg from "pg";
import { createAgentHandler } from "./agent";
import { createAuth, type Auth } from "./auth";
import { resolveConfig, type ApiConfig, type ResolvedConfig } from "./config";
import type { PrismaClient } from "./db";
import { createHealthHandler } from "./health";
import { createLogger, type Logger } from "./lib/logger";
import { createRestHandler } from "./rest";
import { appRouter } from "./root";
import { createServices, type BootstrapOptions, type BootstrapResult, type DemoAdminResult, type Services } from "./services";
import { createTrpcHandler } from "./trpc-handler";

export type FetchHandler = (req: Request) => Promise<Response>;

export interface Api {
  prisma: PrismaClient;
  /** The pg pool under Prisma (bulk telemetry SQL, benchmarks). */
  pool: pg.Pool;
  auth: Auth;
  services: Services;
  config: ResolvedConfig;
  log: Logger;
  handlers: {
    /** /api/trpc — session cookie auth. */
    trpc: FetchHandler;
    /** /api/v1 — API key auth, OpenAPI at /api/v1/openapi.json. */
    rest: FetchHandler;
    /** /api/auth — better-auth. */
    auth: FetchHandler;
    /** /api/agent/v1 — cluster agents. */
    agent: FetchHandler;
    /** /api/health */
    health: FetchHandler;
  };
  /**
   * Starts the periodic jobs (partitions, rollups, retention, command expiry,
   * silence alerts) in this process. Safe on several instances: a pass that
   * finds another instance's pass running is skipped.
   */
  startJobs(intervalMs?: number): void;
  bootstrap(opts: BootstrapOptions): Promise<BootstrapResult>;
  ensureDemoAdmin(): Promise<DemoAdminResult>;
  close(): Promise<void>;
}

/** Everything the web app mounts: one Prisma client, better-auth, services and fetch handlers. */
export function createApi(input: ApiConfig): Api {
  const config = resolveConfig(input);
  const log = input.logger ?? createLogger();
  // One pool for Prisma and for the raw SQL of telemetry and command delivery.
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: input.databasePoolSize ?? 10 });
  pool.on("error", (err) => log.warn({ err: err.message }, "idle database connection failed"));
  const prisma = createPrismaClient(config.databaseUrl, { pool });
  const auth = createAuth({ prisma, baseUrl: config.baseUrl, secret: config.authSecret, trustedOrigins: config.trustedOrigins, log });
  const services = createServices({ prisma, pool, auth, config, log });
  return {
    prisma,
    pool,
    auth,
    services,
    config,
    log,
    handlers: {
      trpc: createTrpcHandler({ router: appRouter, auth, services, log }),
      rest: createRestHandler({ router: appRouter, services, prisma, config, log }),
      auth: (req) => auth.handler(req),
      agent: createAgentHandler({ agent: services.agent, telemetry: services.telemetry, commands: services.command, log }),
      health: createHealthHandler({ prisma, log }),
    },
    startJobs: (intervalMs) => services.maintenance.start(intervalMs),
    bootstrap: (opts) => services.bootstrap.bootstrap(opts),
    ensureDemoAdmin: () => services.bootstrap.ensureDemoAdmin(),
    close: async () => {
      await services.close();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
