/**
 * A local cluster's Kubernetes: the API server on the cluster's etcd (its own
 * process, as in a real cluster), the controllers, scheduler, CSI sidecars and one kubelet per engine
 * node from @stowage/kube-cluster, and Stowage's own Kubernetes side — the CSI
 * driver (controller and a node plugin per engine node), the scheduler
 * extender and the storage health monitor — exactly as the agent's roles
 * serve them in a real cluster. `kubectl --kubeconfig <dir>/kubeconfig` talks
 * to it. There is no container runtime: a pod's "container" is played by a
 * writer in this process that appends to the pod's mounted volumes.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { VersionApi, type V1Pod } from "@kubernetes/client-node";
import type { KubernetesInventory } from "@stowage/agent-protocol";
import type { ClusterAdminClient } from "@stowage/engine";
import { startControllers, startCsiSidecars, startKubelet, startScheduler, type PodVolumeMount } from "@stowage/kube-cluster";
import { ServiceGroup, type Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { parseAllDocuments } from "yaml";
import { kubeClaimResolver } from "../cluster/kubernetes/claims";
import { kubeHealthPort } from "../cluster/kubernetes/health-port";
import { KubernetesInventorySource } from "../cluster/kubernetes/inventory-source";
import { NodeService } from "../csi/node";
import { controllerCsiServer, nodePluginServer } from "../csi/roles";
import { StorageHealthMonitor } from "../health/monitor";
import { createKubeClients, type KubeClients } from "../kube/config";
import { ensureCrds } from "../kube/crds";
import { isAlreadyExists } from "../kube/errors";
import { EventRecorder } from "../kube/events";
import { EngineStorageTopologySource } from "../scheduling/engine-topology";
import { SchedulerExtenderServer } from "../scheduling/extender-server";
import { freePort, KubeApiServerProcess } from "./processes";
import { WorkloadWriters } from "./workload-writers";
import { PooledKubeConfig } from "@stowage/kube-client";
import { STOWAGE_CSI_DRIVER } from "@stowage/vocabulary";

const DEPLOY_DIR = path.resolve(import.meta.dirname, "../../../../deploy");
/** What a cluster needs of Stowage's install to provision volumes: the driver, its classes, its snapshot class. */
const STORAGE_MANIFESTS = ["base/namespace.yaml", "base/csi/csidriver.yaml", "base/csi/storageclasses.yaml", "base/csi/volumesnapshotclass.yaml"];
export const DEMO_APPLICATION = "examples/shop/shop.yaml";

/**
 * The machine type local nodes report, as a cloud's kubelet labels its Nodes: billing takes a
 * node's class from it, so live usage of the demo has a class as real clusters' does. The demo
 * rate card prices no class, so it changes what the meter shows, not the amounts.
 */
export const LOCAL_INSTANCE_TYPE = "local.standard";

export interface LocalKubernetesOptions {
  cluster: string;
  /** Its state: API server certificates, token, kubeconfig, CSI sockets, kubelet dirs. */
  dir: string;
  etcd: string;
  /** instanceType: the Node's node.kubernetes.io/instance-type (default LOCAL_INSTANCE_TYPE). */
  nodes: { id: string; zone?: string | undefined; rack?: string | undefined; instanceType?: string | undefined }[];
  engine: ClusterAdminClient;
  /** Apply the demo application (namespace `shop`) on first start. */
  demoApplication: boolean;
  log: Logger;
  registry?: Registry;
  /** The storage health monitor's pace (defaults: a pass every 10 s, 30 s of grace). */
  health?: { intervalMs?: number; gracePeriodMs?: number };
}

/** A start/stop pair as a Service of the group, so everything stops in reverse order. */
function service(name: string, start: () => Promise<{ stop(): Promise<void> } | void>): Service {
  let running: { stop(): Promise<void> } | void;
  return {
    name,
    async start() {
      running = await start();
    },
    async stop() {
      if (running) await running.stop();
    },
  };
}

/** A token kept in the cluster's dir (0600), so a restarted fleet keeps its kubeconfig valid. */
function adminToken(dir: string): string {
  const file = path.join(dir, "admin-token");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const token = randomBytes(24).toString("hex");
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function apiPort(dir: string): Promise<number> {
  const file = path.join(dir, "api-port");
  if (fs.existsSync(file)) return Promise.resolve(Number(fs.readFileSync(file, "utf8")));
  return freePort().then((port) => {
    fs.writeFileSync(file, String(port));
    return port;
  });
}

export class LocalKubernetes implements Service {
  readonly name: string;
  private readonly group: ServiceGroup;
  private readonly writers: WorkloadWriters;
  private api: KubeApiServerProcess | null = null;
  private clients: KubeClients | null = null;
  private inventorySource: KubernetesInventorySource | null = null;
  private readonly nodePlugins: NodeService[] = [];

  constructor(private readonly opts: LocalKubernetesOptions) {
    this.name = `kubernetes:${opts.cluster}`;
    this.group = new ServiceGroup(opts.log, 15_000);
    this.writers = new WorkloadWriters(opts.log.child({ component: "workloads" }));
  }

  get kubeconfigPath(): string {
    return path.join(this.opts.dir, "kubeconfig");
  }

  /** The cluster's Kubernetes side for telemetry; null until the API server runs. */
  inventory(): Promise<KubernetesInventory | null> {
    return this.inventorySource?.collect() ?? Promise.resolve(null);
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
    const { opts } = this;
    const dir = opts.dir;
    fs.mkdirSync(path.join(dir, "csi"), { recursive: true, mode: 0o700 });
    const log = opts.log;
    const token = adminToken(dir);
    const port = await apiPort(dir);

    this.api = new KubeApiServerProcess({ cluster: opts.cluster, etcd: opts.etcd, prefix: "/kubernetes", port, dir, token, logFile: path.join(dir, "kube-apiserver.log"), log });
    await this.group.start([this.api]);
    const kubeconfig = fs.readFileSync(this.kubeconfigPath, "utf8");
    const kc = new PooledKubeConfig();
    kc.loadFromString(kubeconfig);
    const clients = createKubeClients(kc);
    this.clients = clients;
    await ensureCrds(clients.apiextensions, log);
    for (const file of STORAGE_MANIFESTS) await this.apply(file);

    // Stowage's CSI driver as the roles serve it: the cluster role's controller and a node plugin per engine node.
    const controllerSocket = path.join(dir, "csi", "controller.sock");
    const ready = () => opts.engine.nodes().then(() => true, () => false);
    const csiLog = log.child({ component: "csi" });
    await this.group.start([
      controllerCsiServer(controllerSocket, path.join(dir, "csi", "controller"), opts.engine, log),
      ...opts.nodes.map((n) => {
        const plugin = new NodeService({ nodeId: n.id, zone: n.zone, rack: n.rack, stateDir: path.join(dir, "csi", n.id), log: csiLog.child({ node: n.id }) });
        this.nodePlugins.push(plugin);
        return nodePluginServer(path.join(dir, "csi", `${n.id}.sock`), plugin, ready, csiLog);
      }),
    ]);

    const resolveClaim = kubeClaimResolver(clients.core);
    const extender = new SchedulerExtenderServer({ host: "127.0.0.1", port: 0, source: new EngineStorageTopologySource(opts.engine, resolveClaim), log: log.child({ component: "extender" }) });
    await this.group.start([extender]);
    const extenderUrl = `http://127.0.0.1:${extender.address?.port ?? 0}`;

    const child = log.child({ component: "kube-cluster" });
    // The cluster components log through a function, the sidecars through a warn-only object.
    const kubeLog = (level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>) => child[level](fields, message);
    const sidecarLog = { warn: (message: string, fields: Record<string, unknown>) => child.warn(fields, message) };
    await this.group.start([
      service("controllers", () => startControllers({ kubeconfig, log: kubeLog })),
      service("scheduler", () =>
        startScheduler({ kubeconfig, log: kubeLog, extenders: [{ urlPrefix: extenderUrl, filterVerb: "filter", prioritizeVerb: "prioritize", weight: 5, ignorable: true, nodeCacheCapable: false }] }),
      ),
      service("csi-sidecars", async () => {
        const sidecars = startCsiSidecars({ kubeconfig, csiSocket: controllerSocket, driverName: STOWAGE_CSI_DRIVER, log: sidecarLog });
        await sidecars.synced;
        return sidecars;
      }),
      ...opts.nodes.map((n) =>
        service(`kubelet:${n.id}`, () =>
          startKubelet({
            kubeconfig,
            nodeName: n.id,
            csiSocket: path.join(dir, "csi", `${n.id}.sock`),
            rootDir: path.join(dir, "kubelet", n.id),
            ...(n.zone === undefined ? {} : { zone: n.zone }),
            ...(n.rack === undefined ? {} : { rack: n.rack }),
            instanceType: n.instanceType ?? LOCAL_INSTANCE_TYPE,
            log: sidecarLog,
            onPodRunning: (pod: V1Pod, mounts: PodVolumeMount[]) => this.writers.start(pod, mounts),
            onPodStopping: (pod: V1Pod) => this.writers.stop(pod),
          }),
        ),
      ),
      new StorageHealthMonitor({
        port: kubeHealthPort({
          core: clients.core,
          storage: clients.storage,
          engine: opts.engine,
          resolveClaim,
          events: new EventRecorder({ api: clients.core, reportingController: "stowage.io/agent", reportingInstance: `stowage-local-${opts.cluster}`, log }),
        }),
        log: log.child({ component: "health-monitor" }),
        metrics: { registry: opts.registry ?? new Registry() },
        ...(opts.health?.intervalMs === undefined ? {} : { intervalMs: opts.health.intervalMs }),
        ...(opts.health?.gracePeriodMs === undefined ? {} : { gracePeriodMs: opts.health.gracePeriodMs }),
      }),
      service("workload-writers", () => Promise.resolve({ stop: () => this.writers.stop() })),
    ]);
    const inventorySource = new KubernetesInventorySource({ clients, version: kc.makeApiClient(VersionApi), log });
    await this.group.start([inventorySource]);
    this.inventorySource = inventorySource;
    if (opts.demoApplication && !(await this.namespaceExists("shop"))) {
      await this.apply(DEMO_APPLICATION);
      log.info({ namespace: "shop" }, "demo application applied");
    }
    log.info({ kubeconfig: this.kubeconfigPath, url: this.api?.url }, "kubernetes ready");
  }

  private async namespaceExists(name: string): Promise<boolean> {
    const core = this.clients?.core;
    if (!core) return false;
    return core.readNamespace({ name }).then(
      () => true,
      () => false,
    );
  }

  /** Creates each object of a manifest under deploy/ that does not exist yet (what exists is left as it is). */
  async apply(relativePath: string): Promise<void> {
    const objects = this.clients?.objects;
    if (!objects) throw new Error("the Kubernetes API is not running");
    const docs = parseAllDocuments(fs.readFileSync(path.join(DEPLOY_DIR, relativePath), "utf8"));
    for (const doc of docs) {
      const obj: unknown = doc.toJSON();
      if (obj === null || typeof obj !== "object") continue;
      try {
        await objects.create(obj);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
  }

  /**
   * Stops everything, then unmounts and detaches what the node plugins staged: on a real node the
   * mounts outlive the kubelet, but a local fleet must not leave loop devices and FUSE mounts behind
   * on the developer's machine. The kubelets mount their pods' volumes again on the next start.
   */
  async stop(): Promise<void> {
    await this.group.stop();
    for (const plugin of this.nodePlugins) {
      await plugin.unstageAll().catch((err: unknown) => this.opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, "a staged volume was not unstaged"));
    }
  }
}
