#!/usr/bin/env node
// Writes migrations/<timestamp>_<name>/migration.sql with the SQL that takes
// the schema as of the previous migration to schema.prisma. The previous
// datamodel is kept beside the migrations (schema.snapshot.prisma), so no
// shadow database is needed; the WebAssembly schema engine still wants a
// reachable scratch database in DATABASE_URL (nothing is written to it).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { prismaEnv } from "./prisma-env.mjs";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  process.stderr.write("usage: npm run migration:new -w @stowage/prisma -- <snake_case_name>\n");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const cli = require.resolve("prisma/build/index.js");
const root = path.join(import.meta.dirname, "..");
const snapshot = path.join(root, "migrations", "schema.snapshot.prisma");
const from = fs.existsSync(snapshot) ? ["--from-schema-datamodel", snapshot] : ["--from-empty"];
const r = spawnSync(
  process.execPath,
  [cli, "migrate", "diff", ...from, "--to-schema-datamodel", path.join(root, "schema.prisma"), "--script"],
  { cwd: root, env: prismaEnv(), encoding: "utf8" },
);
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(r.status ?? 1);
}
const sql = r.stdout.trim();
if (!sql || sql === "-- This is an empty migration.") {
  process.stdout.write("schema unchanged; no migration written\n");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
const dir = path.join(root, "migrations", `${stamp}_${name}`);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "migration.sql"), `${sql}\n`);
fs.copyFileSync(path.join(root, "schema.prisma"), snapshot);
process.stdout.write(`wrote ${path.relative(process.cwd(), dir)}/migration.sql\n`);
