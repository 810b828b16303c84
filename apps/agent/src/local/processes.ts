/** Child processes of the node and local roles: spawned, waited for, stopped within a time limit. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "@stowage/engine";
import type { Logger } from "pino";
import type { Service } from "../lifecycle";

const execFileAsync = promisify(execFile);

export { freePort };

/** The engine's CLI, found through the workspace's node_modules. */
export function engineCli(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, "node_modules", "@stowage", "engine", "bin", "stowage-engine.mjs");
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find @stowage/engine (bin/stowage-engine.mjs) in any node_modules above the agent");
    dir = up;
  }
}

export function etcdBinary(): string {
  const bin = [process.env.STOWAGE_ETCD_BIN, "/usr/bin/etcd", "/usr/local/bin/etcd"].find((p): p is string => p !== undefined && p !== "" && fs.existsSync(p));
  if (!bin) throw new Error("etcd is not installed: apt-get install etcd-server (or set STOWAGE_ETCD_BIN)");
  return bin;
}

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** stderr (and stdout, after the ready line) are appended here. */
  logFile: string;
  log: Logger;
  /** Resolves when the child is ready; given each stdout line. Default: ready at once. */
  readyLine?: (line: string) => boolean;
  ready?: () => Promise<boolean>;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  /**
   * The child stops when this process dies, even by SIGKILL: its stdin is a
   * pipe from us, and it exits when the pipe ends (the engine's
   * STOWAGE_EXIT_WITH_PARENT).
   */
  exitWithParent?: boolean;
}

/** Children still running when this process exits (a stop that ran out of time) are killed, never left behind. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** One child process as a Service: start waits for readiness, stop sends SIGTERM, then SIGKILL. */
export class ChildService implements Service {
  readonly name: string;
  private child: ChildProcess | null = null;
  readyLine: string | null = null;
  private stopping = false;

  constructor(private readonly opts: ChildOptions) {
    this.name = opts.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const readyTimeoutMs = o.readyTimeoutMs ?? 60_000;
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    const out = fs.createWriteStream(o.logFile, { flags: "a" });
    const env = o.env ?? process.env;
    const child = spawn(o.command, o.args, {
      stdio: [o.exitWithParent ? "pipe" : "ignore", "pipe", "pipe"],
      env: o.exitWithParent ? { ...env, STOWAGE_EXIT_WITH_PARENT: "1" } : env,
    });
    this.child = child;
    live.add(child);
    child.once("exit", () => live.delete(child));
    child.stderr?.pipe(out, { end: false });
    const exited = new Promise<never>((_, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => {
        out.end();
        if (!this.stopping) o.log.warn({ child: o.name, code, signal }, "child process exited");
        reject(new Error(`${o.name} exited (${code ?? signal ?? "?"}) before it was ready; see ${o.logFile}`));
      });
    });
    exited.catch(() => undefined);
    let buf = "";
    const lineReady = new Promise<void>((resolve) => {
      child.stdout?.on("data", (d: Buffer) => {
        out.write(d);
        if (this.readyLine !== null || !o.readyLine) return;
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        const hit = lines.find((l) => o.readyLine?.(l));
        if (hit !== undefined) {
          this.readyLine = hit;
          resolve();
        }
      });
    });
    const polled = (async () => {
      const deadline = Date.now() + readyTimeoutMs;
      while (o.ready && !(await o.ready().catch(() => false))) {
        if (Date.now() > deadline || !this.running) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${o.name} not ready within ${readyTimeoutMs / 1000}s; see ${o.logFile}`)), readyTimeoutMs);
    });
    try {
      await Promise.race([Promise.all([o.readyLine ? lineReady : Promise.resolve(), polled]), exited, timeout]);
      if (!this.running) throw new Error(`${o.name} exited before it was ready; see ${o.logFile}`);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), this.opts.stopTimeoutMs ?? 8_000)));
      if ((await Promise.race([gone, limit])) === "timeout") {
        this.opts.log.warn({ child: this.opts.name }, "child did not stop in time: killing it");
        child.kill("SIGKILL");
        await gone;
      }
      clearTimeout(timer);
    }
    this.child = null;
  }
}

export async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: unknown };
    return body.health === "true";
  } catch {
    return false;
  }
}

/** A single-member etcd on loopback with its data in `dataDir`. */
export function etcdService(opts: { name: string; dataDir: string; clientPort: number; peerPort: number; logFile: string; log: Logger }): ChildService & { endpoint: string } {
  const endpoint = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  const svc = new ChildService({
    name: opts.name,
    command: etcdBinary(),
    args: [
      "--name", "local",
      "--data-dir", opts.dataDir,
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `local=${peer}`,
      "--log-level", "error",
    ],
    env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === "x64" ? "" : process.arch },
    logFile: opts.logFile,
    log: opts.log,
    ready: () => etcdHealthy(endpoint),
    readyTimeoutMs: 30_000,
  });
  return Object.assign(svc, { endpoint });
}

export interface EngineNodeSpec {
  id: string;
  zone?: string;
  rack?: string;
  etcd: string;
  poolDir: string;
  tlsDir: string;
  capacity?: string;
  /** Key-encryption key file (`--kms-key-file`): the node can then create and serve encrypted volumes. */
  kmsKeyFile?: string;
  /** Listen addresses; each defaults to a free loopback port. */
  listen?: { replication?: string; nbd?: string; admin?: string };
  logFile: string;
  log: Logger;
  extraArgs?: string[];
}

export interface EngineReady {
  node: string;
  replication: string;
  nbd?: string;
  admin?: string;
}

/** `stowage-engine serve` in cluster mode on loopback ports; `ready` holds its addresses once started. */
export class EngineNodeService extends ChildService {
  constructor(spec: EngineNodeSpec) {
    super({
      name: `engine:${spec.id}`,
      command: process.execPath,
      args: [
        engineCli(),
        "serve",
        "--etcd", spec.etcd,
        "--node-id", spec.id,
        ...(spec.zone ? ["--zone", spec.zone] : []),
        ...(spec.rack ? ["--rack", spec.rack] : []),
        "--pool", spec.poolDir,
        "--tls-dir", spec.tlsDir,
        "--listen-replication", spec.listen?.replication ?? "127.0.0.1:0",
        "--nbd", spec.listen?.nbd ?? "127.0.0.1:0",
        "--admin", spec.listen?.admin ?? "127.0.0.1:0",
        ...(spec.capacity ? ["--capacity", spec.capacity] : []),
        ...(spec.kmsKeyFile ? ["--kms-key-file", spec.kmsKeyFile] : []),
        ...(spec.extraArgs ?? []),
      ],
      logFile: spec.logFile,
      log: spec.log,
      readyLine: (l) => l.includes('"event":"ready"'),
      readyTimeoutMs: 90_000,
      exitWithParent: true,
    });
  }

  get ready(): EngineReady | null {
    if (this.readyLine === null) return null;
    return JSON.parse(this.readyLine) as EngineReady;
  }
}

/**
 * A random key-encryption key for one cluster's nodes, once (32 bytes, hex, mode 0600): every
 * node of the cluster gets the same file, so any of them can serve its encrypted volumes.
 */
export function ensureClusterKeyFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Kept across restarts: a new key would make the cluster's encrypted volumes unreadable.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

/** `stowage-engine cluster init`: CA and node certificates, once. */
export async function initClusterCerts(tlsDir: string, nodeIds: string[], name: string): Promise<void> {
  if (fs.existsSync(path.join(tlsDir, "ca.pem"))) return;
  try {
    await execFileAsync(process.execPath, [engineCli(), "cluster", "init", "--dir", tlsDir, "--nodes", nodeIds.join(","), "--name", name, "--ip", "127.0.0.1"], { timeout: 120_000 });
  } catch (err) {
    throw new Error(`cluster init for ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
