import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "./embedded";
import { applyMigrations, readMigrations } from "./migrate";

let tmp: string;
let server: EmbeddedPostgresHandle;

beforeAll(async () => {
  // A 0700 parent, as mkdtemp makes: the server must still reach its data dir when we run as root.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-runtime-"));
  server = await startEmbeddedPostgres({ dataDir: path.join(tmp, "pg"), port: 30000 + Math.floor(Math.random() * 20000), database: "app" });
}, 120_000);

afterAll(async () => {
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe("database runtime", () => {
  it("applies every migration once and records it like prisma migrate deploy", async () => {
    const names = readMigrations().map((m) => m.name);
    expect(await applyMigrations(server.url)).toEqual(names);
    expect(await applyMigrations(server.url)).toEqual([]);
    const rows = await query<{ migration_name: string; finished_at: Date | null }>(`SELECT migration_name, finished_at FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    const tables = await query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(["user", "organization", "cluster", "audit_log", "api_key"]));
  });

  it("refuses to start on a migration edited after it was applied", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "migs-"));
    fs.mkdirSync(path.join(dir, "001_t"));
    fs.writeFileSync(path.join(dir, "001_t", "migration.sql"), "CREATE TABLE edited_later (id int);");
    expect(await applyMigrations(server.url, dir)).toEqual(["001_t"]);
    fs.writeFileSync(path.join(dir, "001_t", "migration.sql"), "CREATE TABLE edited_later (id bigint);");
    await expect(applyMigrations(server.url, dir)).rejects.toThrow(/modified after it was applied/);
  });

  it("rolls back a failing migration and applies nothing of it", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "migs-"));
    fs.mkdirSync(path.join(dir, "001_bad"));
    fs.writeFileSync(path.join(dir, "001_bad", "migration.sql"), "CREATE TABLE half_done (id int); SELECT no_such_function();");
    await expect(applyMigrations(server.url, dir)).rejects.toThrow(/001_bad failed/);
    expect(await query(`SELECT 1 FROM pg_tables WHERE tablename = 'half_done'`)).toEqual([]);
  });

  it("says which port is taken instead of failing silently", async () => {
    await expect(startEmbeddedPostgres({ dataDir: path.join(tmp, "other"), port: server.port, database: "app" })).rejects.toThrow(
      new RegExp(`port ${server.port} .* already in use`),
    );
  });

  it("keeps data across a restart of the embedded server", async () => {
    await query(`CREATE TABLE IF NOT EXISTS survives (v text); INSERT INTO survives VALUES ('kept')`);
    await server.stop();
    server = await startEmbeddedPostgres({ dataDir: path.join(tmp, "pg"), port: server.port, database: "app" });
    expect(await query<{ v: string }>(`SELECT v FROM survives`)).toEqual([{ v: "kept" }]);
  });

  it("stops at once when PostgreSQL already shut down by itself, as it does on the terminal's Ctrl-C", async () => {
    const pid = Number(fs.readFileSync(path.join(tmp, "pg", "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, "SIGINT");
    await gone(pid, 30_000);
    // Before, this waited for an exit event that had already come, until the caller's time limit.
    await server.stop();
    server = await startEmbeddedPostgres({ dataDir: path.join(tmp, "pg"), port: server.port, database: "app" });
    expect(await query<{ v: string }>(`SELECT v FROM survives`)).toEqual([{ v: "kept" }]);
  });
});

/** Polls until `pid` has exited (not a child of this process, so no exit event to wait on). */
async function gone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
