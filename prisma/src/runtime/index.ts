export { startEmbeddedPostgres, type EmbeddedPostgresHandle, type EmbeddedPostgresOptions } from "./embedded";
export { applyMigrations, readMigrations, MIGRATIONS_DIR, type Migration } from "./migrate";
export { openDatabase, REPO_ROOT, type Database } from "./database";
