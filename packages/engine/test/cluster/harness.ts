/**
 * Real engine node processes in cluster mode around a private etcd, for
 * tests, the chaos runner and the replication benchmark. Nodes are
 * `stowage-engine serve --etcd ...` child processes; they can be killed with
 * SIGKILL and restarted on the same pool.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { ChildService } from "@stowage/testing/process";
import { ClusterAdminClient } from "../../src/admin/cluster-client";
import { initClusterTls } from "../../src/cluster/certs";
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeRecord, type VolumeRecord } from "../../src/consensus/records";
import { ConsensusStore } from "../../src/consensus/store";
import { RawNbdClient } from "../../src/nbd/testing/raw-client";

export const ENGINE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = path.join(ENGINE_DIR, "bin", "stowage-engine.mjs");

export interface NodeSpec {
  id: string;
  zone?: string;
  rack?: string;
  /** Extra serve flags. */
  args?: string[];
  /** Command prefix, e.g. ["ip", "netns", "exec", "ns1"]. */
  wrap?: string[];
  replication?: string;
  nbd?: string;
}

export interface ClusterOptions {
  nodes: NodeSpec[];
  leaseTtlSec?: number;
  replaceAfterSec?: number;
  requestTimeoutMs?: number;
  rebuildMbps?: number;
  syncIntervalMs?: number;
  capacity?: string;
  etcd?: PrivateEtcd;
  /** Extra IPs to put in node certificates. */
  certIps?: string[];
  logLevel?: string;
  /** Keep node stderr in memory (last lines) for failure messages. */
  quiet?: boolean;
}

export interface RunningNode {
  spec: NodeSpec;
  proc: ChildService | null;
  ready: { node: string; replication: string; nbd?: string; admin?: string } | null;
  log: string[];
}

export class TestCluster {
  readonly nodes = new Map<string, RunningNode>();
  readonly store: ConsensusStore;

  private constructor(
    readonly dir: string,
    readonly etcd: PrivateEtcd,
    private readonly ownsEtcd: boolean,
    private readonly opts: ClusterOptions,
  ) {
    this.store = new ConsensusStore([etcd.endpoint]);
  }

  static async start(opts: ClusterOptions): Promise<TestCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "stowage-cluster-"));
    const etcd = opts.etcd ?? (await startEtcd());
    const c = new TestCluster(dir, etcd, opts.etcd === undefined, opts);
    try {
      await initClusterTls(path.join(dir, "tls"), { name: "test", nodeIds: opts.nodes.map((n) => n.id), ips: ["127.0.0.1", ...(opts.certIps ?? [])] });
      await Promise.all(opts.nodes.map((n) => c.startNode(n)));
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get tlsDir(): string {
    return path.join(this.dir, "tls");
  }

  poolDir(id: string): string {
    return path.join(this.dir, "pools", id);
  }

  node(id: string): RunningNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  admin(id: string): string {
    const a = this.node(id).ready?.admin;
    if (!a) throw new Error(`node ${id} has no admin address (is it running?)`);
    return a;
  }

  /** The cluster admin API through node `id`'s endpoint only. */
  client(id: string): ClusterAdminClient {
    return new ClusterAdminClient(this.admin(id));
  }

  async startNode(spec: NodeSpec): Promise<RunningNode> {
    const o = this.opts;
    const args = [
      CLI,
      "serve",
      "--etcd", this.etcd.endpoint,
      "--node-id", spec.id,
      ...(spec.zone ? ["--zone", spec.zone] : []),
      ...(spec.rack ? ["--rack", spec.rack] : []),
      "--pool", this.poolDir(spec.id),
      "--tls-dir", this.tlsDir,
      "--listen-replication", spec.replication ?? "127.0.0.1:0",
      "--nbd", spec.nbd ?? "127.0.0.1:0",
      "--admin", "127.0.0.1:0",
      "--lease-ttl", String(o.leaseTtlSec ?? 2),
      "--replace-after", String(o.replaceAfterSec ?? 600),
      "--request-timeout", String(o.requestTimeoutMs ?? 2000),
      "--rebuild-mbps", String(o.rebuildMbps ?? 0),
      "--sync-interval", String(o.syncIntervalMs ?? 500),
      "--log-level", o.logLevel ?? "info",
      ...(o.capacity ? ["--capacity", o.capacity] : []),
      ...(spec.args ?? []),
    ];
    const [cmd, ...pre] = spec.wrap ?? [];
    const execArgv = process.env.STOWAGE_NODE_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.STOWAGE_NODE_PROF}`] : [];
    const running: RunningNode = this.nodes.get(spec.id) ?? { spec, proc: null, ready: null, log: [] };
    running.spec = spec;
    running.ready = null;
    this.nodes.set(spec.id, running);
    const proc = new ChildService({
      name: `node ${spec.id}`,
      command: cmd ?? process.execPath,
      args: cmd ? [...pre, process.execPath, ...execArgv, ...args] : [...execArgv, ...args],
      output: "ignore",
      onLine: (line, stream) => {
        if (stream !== "stderr" || !line) return;
        running.log.push(line);
        if (running.log.length > 400) running.log.splice(0, running.log.length - 400);
      },
      readyLine: (l) => l.includes('"event":"ready"'),
      readyTimeoutMs: 30_000,
      // A test kills nodes on purpose; an exit it did not cause shows in what it waits for.
      onExit: () => undefined,
    });
    running.proc = proc;
    await proc.start();
    running.ready = JSON.parse(proc.readyLine ?? "null") as RunningNode["ready"];
    return running;
  }

  /** SIGKILL: no cleanup, no lease revoke. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (!p?.running) return;
    p.signal("SIGKILL");
    await p.exited;
    n.proc = null;
    n.ready = null;
  }

  async restart(id: string): Promise<RunningNode> {
    await this.kill(id);
    return this.startNode(this.node(id).spec);
  }

  async volume(id: string): Promise<VolumeRecord | null> {
    return (await this.store.get(keys.volume(id), volumeRecordSchema))?.value ?? null;
  }

  async liveNodes(): Promise<NodeRecord[]> {
    return (await this.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => n.value);
  }

  /** Waits until every replica of the volume is in sync and the count matches the spec. */
  async waitAllInSync(id: string, timeoutMs = 30_000): Promise<VolumeRecord> {
    let last: VolumeRecord | null = null;
    return pollUntil(
      async () => {
        const v = await this.volume(id);
        last = v;
        return v && v.replicas.length === v.spec.replicas && v.inSync.length === v.replicas.length && v.replicas.every((r) => r.state === "healthy") ? v : undefined;
      },
      { what: `all replicas of ${id} in sync`, timeoutMs },
    ).catch((err: unknown) => {
      const target = (last)?.target?.nodeId;
      const log = target ? (this.nodes.get(target)?.log ?? []).filter((l) => !l.includes("nbd connection dropped")).slice(-15).join("\n") : "";
      throw new Error(`${err instanceof Error ? err.message : String(err)}; record: ${JSON.stringify(last)}; target log:\n${log}`);
    });
  }

  async waitAllInSyncQuiet(id: string, timeoutMs = 30_000): Promise<VolumeRecord> {
    return pollUntil(
      async () => {
        const v = await this.volume(id);
        return v && v.replicas.length === v.spec.replicas && v.inSync.length === v.replicas.length && v.replicas.every((r) => r.state === "healthy") ? v : undefined;
      },
      { what: `all replicas of ${id} in sync`, timeoutMs },
    );
  }

  tail(id: string, lines = 20): string {
    return this.nodes.get(id)?.log.slice(-lines).join("\n") ?? "";
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id).catch(() => undefined)));
    this.store.close();
    if (this.ownsEtcd) await this.etcd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}


/** Where the volume's target serves it over NBD now (null while it has none). */
export function locator(cluster: TestCluster, volume: string): () => Promise<{ host: string; port: number } | null> {
  return async () => {
    const v = await cluster.volume(volume);
    if (!v?.target) return null;
    const n = await cluster.store.get(keys.node(v.target.nodeId), nodeRecordSchema);
    const nbd = n?.value.nbd;
    if (!nbd) return null;
    const i = nbd.lastIndexOf(":");
    return { host: nbd.slice(0, i), port: Number(nbd.slice(i + 1)) };
  };
}

/** An NBD connection to the volume's current target, once it serves it. */
export async function openVolume(cluster: TestCluster, volume: string, timeoutMs = 20_000): Promise<RawNbdClient> {
  const locate = locator(cluster, volume);
  return pollUntil(async () => {
    const ep = await locate();
    return ep ? RawNbdClient.open(ep, volume) : undefined;
  }, { what: `NBD export ${volume}`, timeoutMs, intervalMs: 100 });
}
