import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaClient } from "../generated/client/client";

export * from "../generated/client/client";

/**
 * A Prisma client over the pg driver (no native query engine). Pass `pool`
 * to share one connection pool with code that talks to pg directly (bulk
 * telemetry writes, LISTEN); the caller then owns the pool and ends it.
 */
export function createPrismaClient(url: string, opts: { max?: number; pool?: pg.Pool } = {}): PrismaClient {
  const adapter = new PrismaPg(opts.pool ?? { connectionString: url, max: opts.max ?? 10 });
  return new PrismaClient({ adapter });
}
