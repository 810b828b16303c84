/**
 * The parts of a system run: the control plane started by its launcher on a
 * given database, and one engine cluster (a private etcd, `stowage-agent
 * node` per node, one `stowage-agent cluster`) on loopback with short
 * intervals, so registration, telemetry and failure detection take seconds.
 */
import fs from "node:fs";
import path from "node:path";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { freePort } from "@stowage/testing/ports";
import { Proc, runToCompletion } from "@stowage/testing/process";
import { AGENT_BIN, ENGINE_BIN, WEB_DIR } from "./harness";

export interface ControlPlaneOptions {
  port: number;
  databaseUrl: string;
  dataDir: string;
  logDir: string;
  admin: { email: string; password: string; apiKey: string };
  commandLeaseSeconds: number;
}

/** `apps/web/scripts/start.ts`, without a local fleet, on the suite's database. */
export class ControlPlane {
  private proc: Proc | null = null;
  private starts = 0;

  constructor(private readonly opts: ControlPlaneOptions) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  get process(): Proc | null {
    return this.proc;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /**
   * Starts the launcher and waits for its ready line. The first start may build
   * the web app; a restart skips the check, the first one left a current build.
   */
  async start(timeoutMs: number): Promise<void> {
    const o = this.opts;
    this.starts++;
    const proc = new Proc({
      name: `control-plane-${this.starts}`,
      command: process.execPath,
      args: ["--import", "tsx", "./scripts/start.ts"],
      cwd: WEB_DIR,
      logDir: o.logDir,
      env: {
        NODE_ENV: "production",
        PORT: String(o.port),
        HOSTNAME: "127.0.0.1",
        DATABASE_URL: o.databaseUrl,
        STOWAGE_DATA_DIR: o.dataDir,
        STOWAGE_BASE_URL: this.baseUrl,
        STOWAGE_LOCAL_FLEET: "0",
        STOWAGE_BOOTSTRAP_ADMIN_EMAIL: o.admin.email,
        STOWAGE_BOOTSTRAP_ADMIN_PASSWORD: o.admin.password,
        STOWAGE_BOOTSTRAP_API_KEY: o.admin.apiKey,
        STOWAGE_COMMAND_LEASE_SECONDS: String(o.commandLeaseSeconds),
        STOWAGE_SHUTDOWN_TIMEOUT_MS: "5000",
        LOG_LEVEL: "warn",
        ...(this.starts > 1 ? { STOWAGE_SKIP_BUILD: "1" } : {}),
      },
    });
    this.proc = proc;
    await proc.waitForLine((l) => l.includes("] ready: "), timeoutMs);
  }

  /** SIGTERM to the launcher (it stops `next start` itself) and wait for it to exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
    const proc = this.proc;
    if (!proc) return null;
    await proc.stop(30_000);
    this.proc = null;
    return proc.exited;
  }
}

export interface EngineAddresses {
  node: string;
  nbd: string;
  admin: string;
}

interface NodeSpec {
  id: string;
  zone: string;
  admin: number;
  nbd: number;
  replication: number;
}

/** One engine cluster run by real agent processes. */
export class AgentCluster {
  private etcd: PrivateEtcd | null = null;
  private readonly nodeProcs = new Map<string, Proc>();
  readonly engines = new Map<string, EngineAddresses>();
  private clusterAgent: Proc | null = null;
  private specs: NodeSpec[] = [];
  private etcdEndpoint = "";
  private starts = 0;
  metricsPort = 0;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly logDir: string,
    readonly zones: string[],
    private readonly controlPlaneUrl: string,
  ) {}

  get nodeIds(): string[] {
    return this.zones.map((_, i) => `${this.name}-${i + 1}`);
  }

  /** The cluster agent's state: identity.json and the telemetry buffer (telemetry/*.batch). */
  get stateDir(): string {
    return path.join(this.dir, "agent");
  }

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}/metrics`;
  }

  /** etcd, the TLS material and every engine node; ports are fixed so a restarted node comes back where it was. */
  async startEngines(): Promise<void> {
    this.metricsPort = await freePort();
    this.specs = [];
    for (const [i, zone] of this.zones.entries()) {
      this.specs.push({ id: `${this.name}-${i + 1}`, zone, admin: await freePort(), nbd: await freePort(), replication: await freePort() });
    }
    const tlsDir = path.join(this.dir, "tls");
    const [etcd] = await Promise.all([
      startEtcd({ dataDir: path.join(this.dir, "etcd"), logDir: this.logDir, name: "etcd" }),
      runToCompletion(process.execPath, [ENGINE_BIN, "cluster", "init", "--dir", tlsDir, "--nodes", this.nodeIds.join(","), "--name", this.name, "--ip", "127.0.0.1"], { output: "capture", timeoutMs: 120_000 }),
    ]);
    this.etcd = etcd;
    this.etcdEndpoint = etcd.endpoint;
    await Promise.all(this.specs.map((s) => this.startNode(s.id)));
  }

  /** Starts (or restarts, on its pool) one `stowage-agent node` and waits for its engine. */
  async startNode(id: string): Promise<EngineAddresses> {
    const spec = this.specs.find((s) => s.id === id);
    if (!spec) throw new Error(`no node ${id}`);
    const proc = new Proc({
      name: `node-${id}`,
      command: process.execPath,
      args: [AGENT_BIN, "node"],
      logDir: this.logDir,
      env: {
        STOWAGE_NODE_ID: id,
        STOWAGE_ZONE: spec.zone,
        STOWAGE_ETCD: this.etcdEndpoint,
        STOWAGE_POOL_DIR: path.join(this.dir, "pools", id),
        STOWAGE_TLS_DIR: path.join(this.dir, "tls"),
        STOWAGE_CAPACITY: "2GiB",
        STOWAGE_ADMIN: `127.0.0.1:${spec.admin}`,
        STOWAGE_NBD: `127.0.0.1:${spec.nbd}`,
        STOWAGE_LISTEN_REPLICATION: `127.0.0.1:${spec.replication}`,
        STOWAGE_LOG_LEVEL: "warn",
        STOWAGE_SHUTDOWN_TIMEOUT_MS: "5000",
      },
    });
    this.nodeProcs.set(id, proc);
    const line = await proc.waitForLine((l) => l.startsWith('{"event":"ready"'), 90_000);
    const ready = JSON.parse(line) as { engine?: Partial<EngineAddresses> | null };
    const e = ready.engine;
    if (!e?.node || !e.nbd || !e.admin) throw new Error(`node ${id} reported no engine addresses: ${line}`);
    const addresses = { node: e.node, nbd: e.nbd, admin: e.admin };
    this.engines.set(id, addresses);
    return addresses;
  }

  /**
   * kill -9 of the node agent alone, as when its container is OOM-killed: the
   * engine it started must stop by itself (it exits when its parent does).
   * Resolves once no process of the node's group is left.
   */
  async killNode(id: string): Promise<void> {
    const proc = this.nodeProcs.get(id);
    if (!proc) throw new Error(`no node ${id}`);
    proc.signal("SIGKILL");
    await proc.exited;
    await pollUntil(() => !proc.groupAlive(), { timeoutMs: 30_000, what: `the engine of ${id} to exit after its agent was killed` });
    this.nodeProcs.delete(id);
  }

  /** Starts `stowage-agent cluster`; the join token is needed only before it has an identity. */
  async startClusterAgent(joinToken?: string): Promise<void> {
    this.starts++;
    const proc = new Proc({
      name: `cluster-agent-${this.starts}`,
      command: process.execPath,
      args: [AGENT_BIN, "cluster"],
      logDir: this.logDir,
      env: {
        STOWAGE_CONTROL_PLANE_URL: this.controlPlaneUrl,
        ...(joinToken === undefined ? {} : { STOWAGE_JOIN_TOKEN: joinToken }),
        STOWAGE_STATE_DIR: this.stateDir,
        STOWAGE_ENGINE_ADMIN: [...this.engines.values()].map((e) => e.admin).join(","),
        STOWAGE_TELEMETRY_INTERVAL_MS: "1000",
        STOWAGE_METRICS_PORT: String(this.metricsPort),
        STOWAGE_LOG_LEVEL: "warn",
        STOWAGE_SHUTDOWN_TIMEOUT_MS: "5000",
      },
    });
    this.clusterAgent = proc;
    await proc.waitForLine((l) => l.startsWith('{"event":"ready"'), 60_000);
  }

  /** kill -9 of the cluster agent: it stops mid-flight, as a crashed pod would. */
  async killClusterAgent(): Promise<void> {
    const proc = this.clusterAgent;
    if (!proc) return;
    proc.signalGroup("SIGKILL");
    await proc.exited;
    this.clusterAgent = null;
  }

  get clusterAgentProcess(): Proc | null {
    return this.clusterAgent;
  }

  /** Sequence numbers of the telemetry batches waiting in the agent's on-disk buffer (one file each, named by sequence first). */
  bufferedSequences(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.stateDir, "telemetry"));
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const m = /^(\d+)\b.*\.batch$/.exec(n);
      return m?.[1] === undefined ? [] : [Number(m[1])];
    });
  }

  /** The agent's cluster credential, as stored at registration. */
  credential(): string {
    const identity = JSON.parse(fs.readFileSync(path.join(this.stateDir, "identity.json"), "utf8")) as { credential?: unknown };
    if (typeof identity.credential !== "string") throw new Error("the agent has no stored credential");
    return identity.credential;
  }

  processes(): Proc[] {
    return [this.clusterAgent, ...this.nodeProcs.values(), this.etcd?.proc ?? null].filter((p): p is Proc => p !== null);
  }

  /** Cluster agent first (it talks to the engines), then the nodes, then etcd. */
  async stop(): Promise<void> {
    await this.clusterAgent?.stop(8_000);
    await Promise.all([...this.nodeProcs.values()].map((p) => p.stop(8_000)));
    await this.etcd?.stop();
  }
}
