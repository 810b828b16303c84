import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { applyMigrations, startEmbeddedPostgres } from "@stowage/prisma/runtime";

const TEMPLATE = "stowage_test_template";
export const ADMIN_URL_ENV = "STOWAGE_TEST_PG_ADMIN_URL";

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * vitest globalSetup: one PostgreSQL for the run (embedded in a temp dir, or
 * the server in DATABASE_URL) plus a migrated template database that every
 * test file clones in milliseconds.
 */
export async function setupTestPostgres(): Promise<() => Promise<void>> {
  let adminUrl: string;
  let stop: () => Promise<void> = async () => undefined;
  let tmp: string | undefined;
  if (process.env.DATABASE_URL) {
    adminUrl = withDatabase(process.env.DATABASE_URL, "postgres");
  } else {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-pg-"));
    fs.chmodSync(tmp, 0o755);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const handle = await startEmbeddedPostgres({ dataDir: path.join(tmp, "data"), port, database: "postgres_scratch" });
    adminUrl = handle.adminUrl;
    stop = () => handle.stop();
  }
  const template = `${TEMPLATE}_${randomBytes(4).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${template}"`);
  await applyMigrations(withDatabase(adminUrl, template));
  process.env[ADMIN_URL_ENV] = adminUrl;
  process.env.STOWAGE_TEST_PG_TEMPLATE = template;
  return async () => {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => undefined);
    await stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  };
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env[ADMIN_URL_ENV];
  const template = process.env.STOWAGE_TEST_PG_TEMPLATE;
  if (!adminUrl || !template) {
    throw new Error("createTestDatabase() needs the vitest globalSetup from @stowage/testing (setupTestPostgres)");
  }
  const name = `stowage_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    url: withDatabase(adminUrl, name),
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
