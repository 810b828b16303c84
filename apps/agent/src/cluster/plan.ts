/**
 * What the cluster role runs. Outside Kubernetes: the uplink, and the CSI
 * controller when a socket is given. In Kubernetes (a pod, or a kubeconfig):
 * on every replica the CSI controller (the sidecars elect their own leader)
 * and the scheduler extender; on the leader of the `stowage-cluster` Lease
 * only, the Stowage CRDs, the uplink with the cluster's Kubernetes side and
 * the storage health monitor.
 */
import path from "node:path";
import { VersionApi } from "@kubernetes/client-node";
import type { AdminClientTls } from "@stowage/engine";
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import { controllerCsiServer } from "../csi/roles";
import type { ClusterEnv } from "../env";
import { healthMonitorMetrics } from "../health/metrics";
import { StorageHealthMonitor } from "../health/monitor";
import { createKubeClients, loadKubeConfig } from "../kube/config";
import { ensureCrds } from "../kube/crds";
import { EventRecorder } from "../kube/events";
import { kubeLeaseStore } from "../kube/leader-election";
import type { AgentMetrics } from "../metrics";
import { EngineStorageTopologySource } from "../scheduling/engine-topology";
import { SchedulerExtenderServer } from "../scheduling/extender-server";
import { engineAdmin } from "./engine-admin";
import { kubeClaimResolver } from "./kubernetes/claims";
import { kubeHealthPort } from "./kubernetes/health-port";
import { KubernetesInventorySource } from "./kubernetes/inventory-source";
import { WhileLeading } from "./kubernetes/while-leading";
import { ClusterRole } from "./role";

export const LEASE_NAME = "stowage-cluster";

export function inKubernetes(e: ClusterEnv): boolean {
  if (e.STOWAGE_KUBERNETES !== "auto") return e.STOWAGE_KUBERNETES === "1" || e.STOWAGE_KUBERNETES === "true";
  return e.STOWAGE_KUBECONFIG !== undefined || e.KUBERNETES_SERVICE_HOST !== undefined;
}

export interface ClusterPlan {
  services: Service[];
  /** The uplink of the current term (the leader's, in Kubernetes), for the ready line. */
  role: () => ClusterRole | null;
}

export function clusterPlan(e: ClusterEnv, env: NodeJS.ProcessEnv, tls: AdminClientTls | undefined, log: Logger, metrics: AgentMetrics): ClusterPlan {
  const admin = engineAdmin(e.STOWAGE_ENGINE_ADMIN, tls);
  const stateDir = path.resolve(e.STOWAGE_STATE_DIR);
  let current: ClusterRole | null = null;
  const uplink = (kubernetes?: KubernetesInventorySource): Service[] => {
    if (e.STOWAGE_CONTROL_PLANE_URL === undefined) {
      log.warn({}, "STOWAGE_CONTROL_PLANE_URL is unset: the cluster is not registered with a control plane");
      return [];
    }
    current = new ClusterRole({
      controlPlaneUrl: e.STOWAGE_CONTROL_PLANE_URL,
      joinToken: e.STOWAGE_JOIN_TOKEN,
      stateDir,
      engineAdmin: e.STOWAGE_ENGINE_ADMIN,
      engineAdminTls: tls,
      telemetryIntervalMs: e.STOWAGE_TELEMETRY_INTERVAL_MS,
      heartbeatIntervalMs: e.STOWAGE_HEARTBEAT_INTERVAL_MS,
      bufferMaxBytes: e.STOWAGE_TELEMETRY_BUFFER_BYTES,
      log,
      metrics,
      ...(kubernetes ? { kubernetes: () => kubernetes.collect() } : {}),
    });
    return [current];
  };
  // The inventory's informers run only where the uplink does: the leader, with a control plane to report to.
  const withInventory = (source: KubernetesInventorySource): Service[] => {
    const services = uplink(source);
    return services.length === 0 ? [] : [source, ...services];
  };
  const csi = e.STOWAGE_CSI_SOCKET === undefined ? [] : [controllerCsiServer(e.STOWAGE_CSI_SOCKET, stateDir, admin, log)];
  if (!inKubernetes(e)) return { services: [...uplink(), ...csi], role: () => current };

  const kc = loadKubeConfig(env);
  const clients = createKubeClients(kc);
  const resolveClaim = kubeClaimResolver(clients.core);
  const extender =
    e.STOWAGE_EXTENDER_PORT === undefined
      ? []
      : [new SchedulerExtenderServer({ host: e.STOWAGE_EXTENDER_HOST, port: e.STOWAGE_EXTENDER_PORT, source: new EngineStorageTopologySource(admin, resolveClaim), log: log.child({ component: "extender" }) })];
  // Counters once per process: each term's monitor adds to the same ones.
  const healthMetrics = healthMonitorMetrics(metrics.registry);
  const leading = new WhileLeading({ identity: e.STOWAGE_POD_NAME, store: kubeLeaseStore(clients.coordination, e.STOWAGE_POD_NAMESPACE, LEASE_NAME), log: log.child({ component: "leader" }), stopTimeoutMs: e.STOWAGE_SHUTDOWN_TIMEOUT_MS }, () => [
    { name: "crds", start: () => ensureCrds(clients.apiextensions, log), stop: () => Promise.resolve() },
    ...withInventory(new KubernetesInventorySource({ clients, version: kc.makeApiClient(VersionApi), log })),
    new StorageHealthMonitor({
      port: kubeHealthPort({
        core: clients.core,
        storage: clients.storage,
        engine: admin,
        resolveClaim,
        events: new EventRecorder({ api: clients.core, reportingController: "stowage.io/agent", reportingInstance: e.STOWAGE_POD_NAME, log }),
      }),
      log: log.child({ component: "health-monitor" }),
      metrics: healthMetrics,
    }),
  ]);
  return { services: [...csi, ...extender, leading], role: () => current };
}
