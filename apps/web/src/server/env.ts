import { z } from "zod";

const ServerEnv = z.object({
  DATABASE_URL: z.string().min(1, "DATABASE_URL is not set: start the app with `npm start`, which opens the database first"),
  BETTER_AUTH_SECRET: z.string().min(16, "BETTER_AUTH_SECRET must be at least 16 characters"),
  PORT: z.coerce.number().int().positive().default(3000),
  STOWAGE_BASE_URL: z.url().optional(),
  /** Extra origins allowed to call auth endpoints, comma separated. */
  STOWAGE_TRUSTED_ORIGINS: z.string().optional(),
  /** A delivered command without a status report within this many seconds is delivered again. */
  STOWAGE_COMMAND_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).optional(),
});

export interface ServerConfig {
  databaseUrl: string;
  authSecret: string;
  baseUrl: string;
  trustedOrigins: string[];
  commandLeaseSeconds?: number;
}

/** Read at first use, not at import: `next build` loads route modules without a database. */
export function readServerConfig(source: NodeJS.ProcessEnv = process.env): ServerConfig {
  const env = ServerEnv.parse(source);
  const baseUrl = (env.STOWAGE_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, "");
  const local = [`http://localhost:${env.PORT}`, `http://127.0.0.1:${env.PORT}`];
  const extra = (env.STOWAGE_TRUSTED_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  return {
    databaseUrl: env.DATABASE_URL,
    authSecret: env.BETTER_AUTH_SECRET,
    baseUrl,
    trustedOrigins: [...new Set([baseUrl, ...local, ...extra])],
    ...(env.STOWAGE_COMMAND_LEASE_SECONDS === undefined ? {} : { commandLeaseSeconds: env.STOWAGE_COMMAND_LEASE_SECONDS }),
  };
}
