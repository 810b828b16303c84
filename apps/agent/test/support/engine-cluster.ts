/**
 * A real engine cluster for the agent's suites and benchmarks: a private etcd,
 * the cluster's certificates and one `stowage-engine serve` process per node
 * (zones a, b, c by default) on loopback, with a ClusterAdminClient over all
 * of them. Everything lives under `dir` and is stopped in reverse order.
 */
import path from "node:path";
import type { ClusterAdminClient } from "@stowage/engine";
import { ServiceGroup } from "@stowage/supervisor";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import type { Logger } from "pino";
import { engineAdmin } from "../../src/cluster/engine-admin";
import { EngineNodeService, initClusterCerts } from "../../src/local/processes";

export interface EngineClusterOptions {
  dir: string;
  log: Logger;
  ids?: string[];
  /** Zone of each node, by position; default a, b, c. */
  zones?: string[];
  capacity?: string;
  /** Extra `serve` flags; default a 2 s lease and a 500 ms sync, so failures are noticed fast. */
  extraArgs?: string[];
}

export interface EngineCluster {
  etcd: PrivateEtcd;
  nodes: EngineNodeService[];
  /** The engine nodes with their zones, as Kubernetes nodes are named after them. */
  placement: { id: string; zone: string | undefined }[];
  /** A client over the admin endpoints of the nodes started (ask again after a restart). */
  admin(): ClusterAdminClient;
  /** Starts more services (a CSI server, a local Kubernetes) to be stopped before the engines. */
  group: ServiceGroup;
  stop(): Promise<void>;
}

export async function startEngineCluster(o: EngineClusterOptions): Promise<EngineCluster> {
  const ids = o.ids ?? ["n1", "n2", "n3"];
  const zones = o.zones ?? ["a", "b", "c"];
  const [etcd] = await Promise.all([startEtcd({ dataDir: path.join(o.dir, "etcd"), logDir: o.dir }), initClusterCerts(path.join(o.dir, "tls"), ids, "test")]);
  const engines = new ServiceGroup(o.log, 20_000);
  const group = new ServiceGroup(o.log, 30_000);
  const nodes = ids.map(
    (id, i) =>
      new EngineNodeService({
        id,
        ...(zones[i] === undefined ? {} : { zone: zones[i] }),
        etcd: etcd.endpoint,
        poolDir: path.join(o.dir, "pools", id),
        tlsDir: path.join(o.dir, "tls"),
        capacity: o.capacity ?? "2GiB",
        logFile: path.join(o.dir, `${id}.log`),
        log: o.log,
        extraArgs: o.extraArgs ?? ["--lease-ttl", "2", "--sync-interval", "500"],
      }),
  );
  const stop = async () => {
    await group.stop();
    await engines.stop();
    await etcd.stop();
  };
  try {
    await Promise.all(nodes.map((n) => engines.start([n])));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    etcd,
    nodes,
    placement: ids.map((id, i) => ({ id, zone: zones[i] })),
    admin: () => engineAdmin(nodes.flatMap((n) => (n.ready?.admin ? [n.ready.admin] : []))),
    group,
    stop,
  };
}
