import type { PrismaClient } from "./db";
import type { Logger } from "./lib/logger";
import { json } from "./lib/request";

export interface HealthReport {
  status: "ok" | "degraded";
  checks: {
    web: { status: "ok" };
    database: { status: "ok" | "down"; latencyMs: number | null };
  };
}

const DB_TIMEOUT_MS = 2_000;

/** `/api/health`: 200 when the database answers, 503 when it does not. */
export function createHealthHandler(deps: { prisma: PrismaClient; log: Logger }) {
  const log = deps.log.child({ component: "health" });
  return async (_req: Request): Promise<Response> => {
    const started = performance.now();
    let dbOk = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.prisma.$queryRaw`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`database did not answer within ${DB_TIMEOUT_MS} ms`)), DB_TIMEOUT_MS);
        }),
      ]);
      dbOk = true;
    } catch (err) {
      log.warn({ err }, "database health check failed");
    } finally {
      clearTimeout(timer);
    }
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const report: HealthReport = {
      status: dbOk ? "ok" : "degraded",
      checks: { web: { status: "ok" }, database: { status: dbOk ? "ok" : "down", latencyMs: dbOk ? latencyMs : null } },
    };
    return json(dbOk ? 200 : 503, report);
  };
}
