#!/usr/bin/env node
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { prismaEnv } from "./prisma-env.mjs";

const require = createRequire(import.meta.url);
const cli = require.resolve("prisma/build/index.js");
const root = path.join(import.meta.dirname, "..");
const r = spawnSync(process.execPath, [cli, "generate", "--schema", path.join(root, "schema.prisma")], {
  cwd: root,
  env: prismaEnv(),
  stdio: ["ignore", "inherit", "inherit"],
});
process.exit(r.status ?? 1);
