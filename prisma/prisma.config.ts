import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

// The CLI runs its WebAssembly schema engine over the pg driver adapter, so no
// native engine download is needed. Migrations are plain SQL under
// ./migrations, applied at start by src/runtime/migrate.ts (same bookkeeping
// table as `prisma migrate deploy`).
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "postgresql://localhost/unused" }),
  schema: path.join(import.meta.dirname, "schema.prisma"),
  migrations: { path: path.join(import.meta.dirname, "migrations") },
});
