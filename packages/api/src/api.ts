import { createPrismaClient } from "@stowage/prisma";
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
  bootstrap(opts: BootstrapOptions): Promise<BootstrapResult>;
  ensureDemoAdmin(): Promise<DemoAdminResult>;
  close(): Promise<void>;
}

/** Everything the web app mounts: one Prisma client, better-auth, services and fetch handlers. */
export function createApi(input: ApiConfig): Api {
  const config = resolveConfig(input);
  const log = input.logger ?? createLogger();
  const prisma = createPrismaClient(config.databaseUrl, { max: input.databasePoolSize ?? 10 });
  const auth = createAuth({ prisma, baseUrl: config.baseUrl, secret: config.authSecret, trustedOrigins: config.trustedOrigins, log });
  const services = createServices({ prisma, auth, config, log });
  return {
    prisma,
    auth,
    services,
    config,
    log,
    handlers: {
      trpc: createTrpcHandler({ router: appRouter, auth, services, log }),
      rest: createRestHandler({ router: appRouter, services, prisma, config, log }),
      auth: (req) => auth.handler(req),
      agent: createAgentHandler({ agent: services.agent, log }),
      health: createHealthHandler({ prisma, log }),
    },
    bootstrap: (opts) => services.bootstrap.bootstrap(opts),
    ensureDemoAdmin: () => services.bootstrap.ensureDemoAdmin(),
    close: () => prisma.$disconnect(),
  };
}
