import type { Logger } from "./lib/logger";

export interface ApiConfig {
  databaseUrl: string;
  /** Public origin of the control plane, e.g. https://stowage.example.com (no trailing slash needed). */
  baseUrl: string;
  authSecret: string;
  trustedOrigins?: string[];
  /** Requests per window per API key on /api/v1. Default 600 per minute. */
  rateLimit?: { limit: number; windowMs: number };
  /** Lifetime of a cluster join token. Default 24 hours. */
  joinTokenTtlSeconds?: number;
  heartbeatIntervalSeconds?: number;
  /** OCI reference of the agent chart used in install commands. */
  agentChart?: string;
  logger?: Logger;
  /** Connection pool size of the API's Prisma client. */
  databasePoolSize?: number;
}

export interface ResolvedConfig {
  databaseUrl: string;
  baseUrl: string;
  authSecret: string;
  trustedOrigins: string[];
  rateLimit: { limit: number; windowMs: number };
  joinTokenTtlSeconds: number;
  heartbeatIntervalSeconds: number;
  agentChart: string;
}

export function resolveConfig(config: ApiConfig): ResolvedConfig {
  const baseUrl = config.baseUrl.replace(/\/+$/, "");
  return {
    databaseUrl: config.databaseUrl,
    baseUrl,
    authSecret: config.authSecret,
    trustedOrigins: [baseUrl, ...(config.trustedOrigins ?? [])],
    rateLimit: config.rateLimit ?? { limit: 600, windowMs: 60_000 },
    joinTokenTtlSeconds: config.joinTokenTtlSeconds ?? 24 * 60 * 60,
    heartbeatIntervalSeconds: config.heartbeatIntervalSeconds ?? 30,
    agentChart: config.agentChart ?? "oci://ghcr.io/stowage/charts/stowage-agent",
  };
}
