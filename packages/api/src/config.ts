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
  telemetry?: Partial<TelemetryConfig>;
  commands?: Partial<CommandConfig>;
  /** A cluster with neither heartbeat nor telemetry for this long gets a cluster_silent alert. Default 120. */
  silenceSeconds?: number;
  /** The clock of leases, retention, skew checks and alerts; tests inject one. */
  now?: () => Date;
  billing?: Partial<BillingConfig>;
}

export interface BillingConfig {
  /** Telemetry ingest writes the usage ledger in the same statement. Default true; off only to measure its cost. */
  metering: boolean;
}

export interface TelemetryConfig {
  /** Raw samples are kept this many days (daily partitions). */
  rawRetentionDays: number;
  rollup1mRetentionDays: number;
  rollup1hRetentionDays: number;
  /** A sample stamped further than this ahead of the server clock is refused. */
  maxFutureSkewMs: number;
  /** Partitions are created this many days ahead of today. */
  partitionsAheadDays: number;
  /** Pool usage above this fraction opens a pool_full alert; it resolves below resolveFraction. */
  poolFullFraction: number;
  poolFullResolveFraction: number;
}

export interface CommandConfig {
  /** A delivered command without a status report within this is delivered again. */
  leaseSeconds: number;
  /** Each 'running' report extends the lease by this much. */
  runningLeaseSeconds: number;
  /** A queued command nobody picked up within this expires. */
  ttlSeconds: number;
  /** Deliveries without a final state before the command is failed. */
  maxAttempts: number;
  /** Upper bound of GET /commands?waitSeconds. */
  maxWaitSeconds: number;
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
  telemetry: TelemetryConfig;
  commands: CommandConfig;
  silenceSeconds: number;
  now: () => Date;
  billing: BillingConfig;
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
    telemetry: {
      rawRetentionDays: 2,
      rollup1mRetentionDays: 14,
      rollup1hRetentionDays: 400,
      maxFutureSkewMs: 10 * 60 * 1000,
      partitionsAheadDays: 3,
      poolFullFraction: 0.85,
      poolFullResolveFraction: 0.83,
      ...config.telemetry,
    },
    commands: { leaseSeconds: 60, runningLeaseSeconds: 300, ttlSeconds: 3600, maxAttempts: 5, maxWaitSeconds: 30, ...config.commands },
    silenceSeconds: config.silenceSeconds ?? 120,
    now: config.now ?? (() => new Date()),
    billing: { metering: true, ...config.billing },
  };
}
