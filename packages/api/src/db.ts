import type { Prisma, PrismaClient } from "@stowage/prisma";
import type pg from "pg";

/** What repositories accept: the client itself or an interactive transaction. */
export type Db = PrismaClient | Prisma.TransactionClient;
export type { PrismaClient };

/**
 * The pg pool Prisma runs on, for the few repositories that need SQL Prisma
 * cannot say fast enough (bulk telemetry writes via unnest arrays) or at all
 * (LISTEN, SKIP LOCKED claims).
 */
export type Pool = pg.Pool;
export type Sql = pg.Pool | pg.PoolClient;

/** Runs `fn` in one transaction on one pooled connection. */
export async function inTransaction<T>(pool: Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
