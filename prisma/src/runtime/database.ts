import path from "node:path";
import { startEmbeddedPostgres } from "./embedded";
import { applyMigrations } from "./migrate";

export interface Database {
  url: string;
  embedded: boolean;
  migrationsApplied: string[];
  stop(): Promise<void>;
}

export const REPO_ROOT = path.join(import.meta.dirname, "..", "..", "..");

/**
 * The database the control plane runs on: `DATABASE_URL` when set, otherwise
 * an embedded PostgreSQL whose data lives under `.data/postgres` and survives
 * restarts. Migrations are applied either way.
 */
export async function openDatabase(opts: {
  databaseUrl?: string;
  dataDir?: string;
  port?: number;
  log?: (line: string) => void;
}): Promise<Database> {
  if (opts.databaseUrl) {
    const migrationsApplied = await applyMigrations(opts.databaseUrl);
    return { url: opts.databaseUrl, embedded: false, migrationsApplied, stop: async () => undefined };
  }
  const handle = await startEmbeddedPostgres({
    dataDir: opts.dataDir ?? path.join(REPO_ROOT, ".data", "postgres"),
    port: opts.port ?? 54329,
    database: "stowage",
    ...(opts.log ? { log: opts.log } : {}),
  });
  try {
    const migrationsApplied = await applyMigrations(handle.url);
    return { url: handle.url, embedded: true, migrationsApplied, stop: () => handle.stop() };
  } catch (err) {
    await handle.stop();
    throw err;
  }
}
