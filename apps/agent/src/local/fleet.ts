/**
 * The local role: a whole fleet on one machine. Per cluster a private etcd,
 * its certificates, M engine node processes on loopback with zone labels, a
 * cluster agent registered with the control plane, and a small demo
 * workload (a few volumes and a paced NBD writer on each) so charts move.
 * Everything lives under one data dir and survives restarts: etcd ports,
 * pools and the agent identity are reused.
 */
import fs from "node:fs";
import path from "node:path";
import { ServiceGroup, startFailedOnTakenPort, type Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import { z } from "zod";
import { ClusterRole } from "../cluster/role";
import { pickTarget } from "../cluster/executor";
import type { LocalClusterSpec } from "../env";
import type { AgentMetrics } from "../metrics";
import type { LocalKubernetes } from "./kubernetes";
import { PacedWriter } from "./nbd-writer";
import { EngineNodeService, ensureClusterKeyFile, etcdService, freePort, initClusterCerts } from "./processes";

export function nodeIds(spec: LocalClusterSpec): string[] {
  return Array.from({ length: spec.nodes }, (_, i) => `${spec.name}-${i + 1}`);
}

export interface DemoVolume {
  name: string;
  sizeBytes: number;
  replicas: number;
  /** Requests per second of the paced writer; 0 for none. */
  rate: number;
}

export function demoVolumes(spec: LocalClusterSpec): DemoVolume[] {
  const r = Math.min(3, spec.nodes);
  return [
    { name: `${spec.name}-db`, sizeBytes: 256 * 1024 * 1024, replicas: r, rate: 20 },
    { name: `${spec.name}-logs`, sizeBytes: 128 * 1024 * 1024, replicas: Math.min(2, spec.nodes), rate: 8 },
    { name: `${spec.name}-cache`, sizeBytes: 64 * 1024 * 1024, replicas: 1, rate: 0 },
  ];
}

const port = z.number().int().min(1).max(65535);
/**
 * A node's addresses stay the same across restarts, as a DaemonSet's host ports do: a volume a
 * kubelet staged before is staged again at the NBD address its VolumeAttachment recorded.
 */
const nodePortsSchema = z.object({ replication: port, nbd: port, admin: port });
const portsSchema = z.object({ etcdClient: port, etcdPeer: port, nodes: z.record(z.string(), nodePortsSchema).default({}) });
type FleetPorts = z.infer<typeof portsSchema>;

async function freeNodePorts(): Promise<z.infer<typeof nodePortsSchema>> {
  return { replication: await freePort(), nbd: await freePort(), admin: await freePort() };
}

/** `serve`'s listen flags for a node's kept ports (none known: the engine picks free ones). */
function listenOn(ports: z.infer<typeof nodePortsSchema> | undefined): { listen?: { replication: string; nbd: string; admin: string } } {
  if (!ports) return {};
  return { listen: { replication: `127.0.0.1:${ports.replication}`, nbd: `127.0.0.1:${ports.nbd}`, admin: `127.0.0.1:${ports.admin}` } };
}

/**
 * Starts a service on its kept ports. A port found free can be taken by another process before
 * ours binds it (fleets of test suites start side by side); ports chosen just now (`fresh`) are
 * then chosen again by `repick`. Kept ports are never moved: addresses recorded elsewhere (a
 * VolumeAttachment's NBD address, etcd's member URL) depend on them, so a taken kept port is an
 * error to report.
 */
export async function startOnPorts<S extends Service>(group: ServiceGroup, log: Logger, fresh: boolean, make: () => S, repick: () => Promise<void>): Promise<S> {
  for (let attempt = 1; ; attempt++) {
    const svc = make();
    try {
      await group.start([svc]);
      return svc;
    } catch (err) {
      if (!fresh || !startFailedOnTakenPort(err) || attempt >= 3) throw err;
      log.warn({ service: svc.name, attempt }, "a port chosen for it was taken before it bound; choosing new ones");
      await repick();
    }
  }
}

export interface LocalFleetOptions {
  clusters: LocalClusterSpec[];
  dataDir: string;
  controlPlaneUrl: string;
  joinTokens: Record<string, string>;
  telemetryIntervalMs: number;
  heartbeatIntervalMs: number;
  demoWorkload: boolean;
  /** Give each cluster its Kubernetes (API server, controllers, kubelets, CSI); the demo application goes to the first. */
  kubernetes: boolean;
  nodeCapacity: string;
  log: Logger;
  metrics?: AgentMetrics;
}

class LocalCluster implements Service {
  readonly name: string;
  private readonly group: ServiceGroup;
  readonly nodes: EngineNodeService[] = [];
  role: ClusterRole | null = null;
  kubernetes: LocalKubernetes | null = null;

  get clusterName(): string {
    return this.spec.name;
  }

  constructor(
    private readonly spec: LocalClusterSpec,
    private readonly opts: LocalFleetOptions,
    private readonly log: Logger,
    /** The first cluster of the fleet runs the demo application. */
    private readonly first: boolean,
  ) {
    this.name = `cluster:${spec.name}`;
    this.group = new ServiceGroup(log, 10_000);
  }

  private get dir(): string {
    return path.join(this.opts.dataDir, this.spec.name);
  }

  /**
   * The cluster's ports, chosen on first start and kept in ports.json; nodes added since get theirs
   * now. `fresh` names what was given ports just now ("etcd" and node ids): only those may be moved.
   */
  private async ports(ids: readonly string[]): Promise<{ ports: FleetPorts; fresh: Set<string> }> {
    const file = path.join(this.dir, "ports.json");
    const fresh = new Set<string>();
    let ports: FleetPorts;
    try {
      ports = portsSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
    } catch {
      ports = { etcdClient: await freePort(), etcdPeer: await freePort(), nodes: {} };
      fresh.add("etcd");
    }
    for (const id of ids.filter((i) => ports.nodes[i] === undefined)) {
      ports.nodes[id] = await freeNodePorts();
      fresh.add(id);
    }
    if (fresh.size > 0) this.savePorts(ports);
    return { ports, fresh };
  }

  private savePorts(ports: FleetPorts): void {
    fs.writeFileSync(path.join(this.dir, "ports.json"), JSON.stringify(ports));
  }

  async start(): Promise<void> {
    try {
      await this.startAll();
    } catch (err) {
      await this.group.stop();
      throw err;
    }
  }

  private async startAll(): Promise<void> {
    const { spec, opts } = this;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ids = nodeIds(spec);
    const { ports, fresh } = await this.ports(ids);
    const etcdDir = path.join(this.dir, "etcd");
    const etcdSpec = () => ({ name: `etcd:${spec.name}`, dataDir: etcdDir, clientPort: ports.etcdClient, peerPort: ports.etcdPeer, logFile: path.join(this.dir, "logs", "etcd.log"), log: this.log });
    const tlsDir = path.join(this.dir, "tls");
    const [etcd] = await Promise.all([
      startOnPorts(
        this.group,
        this.log,
        fresh.has("etcd"),
        () => etcdService(etcdSpec()),
        async () => {
          // The member written on the taken ports records them as its peer URL.
          fs.rmSync(etcdDir, { recursive: true, force: true });
          Object.assign(ports, { etcdClient: await freePort(), etcdPeer: await freePort() });
          this.savePorts(ports);
        },
      ),
      initClusterCerts(tlsDir, ids, spec.name),
    ]);
    const kmsKeyFile = path.join(this.dir, "kek");
    ensureClusterKeyFile(kmsKeyFile);
    const nodeSpec = (id: string, i: number) => ({
      id,
      ...(spec.zones.length > 0 ? { zone: spec.zones[i % spec.zones.length] } : {}),
      etcd: etcd.endpoint,
      ...listenOn(ports.nodes[id]),
      poolDir: path.join(this.dir, "pools", id),
      tlsDir,
      kmsKeyFile,
      capacity: opts.nodeCapacity,
      logFile: path.join(this.dir, "logs", `${id}.log`),
      log: this.log,
      extraArgs: ["--log-level", "warn"],
    });
    // Nodes start side by side; each is stopped by the group once started.
    const started = await Promise.allSettled(
      ids.map(async (id, i) =>
        startOnPorts(
          this.group,
          this.log,
          fresh.has(id),
          () => new EngineNodeService(nodeSpec(id, i)),
          async () => {
            ports.nodes[id] = await freeNodePorts();
            this.savePorts(ports);
          },
        ),
      ),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    const nodes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    this.nodes.push(...nodes);
    const admins = nodes.flatMap((n) => (n.ready?.admin ? [n.ready.admin] : []));
    this.log.info({ nodes: nodes.map((n) => ({ id: n.ready?.node, nbd: n.ready?.nbd, admin: n.ready?.admin })) }, "engine nodes ready");
    const role = new ClusterRole({
      controlPlaneUrl: opts.controlPlaneUrl,
      joinToken: opts.joinTokens[spec.name],
      stateDir: path.join(this.dir, "agent"),
      engineAdmin: admins,
      telemetryIntervalMs: opts.telemetryIntervalMs,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      bufferMaxBytes: 16 * 1024 * 1024,
      log: this.log.child({ component: "cluster-agent" }),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      kubernetes: () => this.kubernetes?.inventory() ?? Promise.resolve(null),
    });
    this.role = role;
    await this.group.start([role]);
    if (opts.demoWorkload) await this.startDemo(role);
    if (opts.kubernetes) await this.startKubernetes(role, etcd.endpoint, ids);
  }

  /**
   * The cluster's Kubernetes, after its engines and demo workload: a failure here (no root for
   * loop devices, say) is reported and leaves the storage cluster running.
   */
  private async startKubernetes(role: ClusterRole, etcdEndpoint: string, ids: string[]): Promise<void> {
    const { spec, opts } = this;
    try {
      // Loaded only here: the in-process Kubernetes is a checkout's, not part of the agent's image.
      const { LocalKubernetes } = await import("./kubernetes");
      const kubernetes = new LocalKubernetes({
        cluster: spec.name,
        dir: path.join(this.dir, "kubernetes"),
        etcd: etcdEndpoint,
        nodes: ids.map((id, i) => ({ id, zone: spec.zones.length > 0 ? spec.zones[i % spec.zones.length] : undefined })),
        engine: role.admin,
        demoApplication: opts.demoWorkload && this.first,
        // Its own registry: the health monitor's counters exist once per registry, and a fleet has several clusters.
        log: this.log.child({ component: "kubernetes" }),
      });
      await this.group.start([kubernetes]);
      this.kubernetes = kubernetes;
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, "kubernetes of the local cluster did not start");
    }
  }

  private async startDemo(role: ClusterRole): Promise<void> {
    const writers: PacedWriter[] = [];
    const ids = nodeIds(this.spec);
    for (const [i, v] of demoVolumes(this.spec).entries()) {
      try {
        if (!(await role.admin.volume(v.name))) {
          // Targets spread over the nodes, so every node serves some I/O.
          const live = await role.admin.nodes();
          const wanted = ids[i % ids.length];
          const target = wanted !== undefined && live.some((n) => n.id === wanted) ? wanted : pickTarget(live);
          await role.admin.createVolume({ name: v.name, size: v.sizeBytes, replicas: v.replicas, ...(target === undefined ? {} : { target }) });
          this.log.info({ volume: v.name, replicas: v.replicas }, "demo volume created");
        }
      } catch (err) {
        this.log.warn({ volume: v.name, err: err instanceof Error ? err.message : String(err) }, "demo volume not created");
        continue;
      }
      if (v.rate <= 0) continue;
      writers.push(
        new PacedWriter({
          volume: v.name,
          rate: v.rate,
          log: this.log,
          locate: async () => {
            const cur = await role.admin.volume(v.name).catch(() => null);
            const nbd = cur?.nbd;
            if (!nbd) return null;
            const i = nbd.lastIndexOf(":");
            return { host: nbd.slice(0, i), port: Number(nbd.slice(i + 1)) };
          },
        }),
      );
    }
    await this.group.start(writers);
  }

  stop(): Promise<void> {
    return this.group.stop();
  }
}

/** All local clusters; each starts on its own, a failing one is reported and the others keep running. */
export class LocalFleet implements Service {
  readonly name = "local-fleet";
  readonly clusters: LocalCluster[];

  constructor(private readonly opts: LocalFleetOptions) {
    this.clusters = opts.clusters.map((c, i) => new LocalCluster(c, opts, opts.log.child({ cluster: c.name }), i === 0));
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.opts.dataDir, { recursive: true, mode: 0o700 });
    const results = await Promise.allSettled(this.clusters.map((c) => c.start()));
    results.forEach((r, i) => {
      if (r.status === "rejected") this.opts.log.error({ cluster: this.opts.clusters[i]?.name, err: r.reason instanceof Error ? r.reason.message : String(r.reason) }, "local cluster failed to start");
    });
    if (results.every((r) => r.status === "rejected")) throw new Error("no local cluster started");
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.clusters.map((c) => c.stop()));
  }
}
