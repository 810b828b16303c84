/**
 * `stowage-agent <role>`: node, cluster or local (see DESIGN.md, "The agent").
 * Configuration comes from the environment, parsed before anything starts.
 */
import path from "node:path";
import { parseCommandLine, UsageError } from "@stowage/engine";
import { ServiceGroup, waitForSignal, type Service } from "@stowage/supervisor";
import { pino, type Logger } from "pino";
import { clusterEnvSchema, localEnvSchema, nodeEnvSchema, parseEnv } from "./env";
import { engineAdminTls } from "./cluster/engine-admin";
import { clusterPlan } from "./cluster/plan";
import { LocalFleet } from "./local/fleet";
import { AgentMetrics, MetricsServer } from "./metrics";
import { nodeCsiServer } from "./csi/roles";
import { nodeService } from "./node/role";

const usage = `Usage: stowage-agent <role>

Roles:
  node      one engine node in cluster mode (STOWAGE_NODE_ID, STOWAGE_ETCD, STOWAGE_POOL_DIR, STOWAGE_TLS_DIR, ...)
  cluster   registers with the control plane and runs the uplink for one engine cluster
            (STOWAGE_CONTROL_PLANE_URL, STOWAGE_JOIN_TOKEN on first start, STOWAGE_STATE_DIR, STOWAGE_ENGINE_ADMIN)
  local     a whole fleet on this machine (STOWAGE_CONTROL_PLANE_URL, STOWAGE_LOCAL_CLUSTERS,
            STOWAGE_LOCAL_JOIN_TOKENS, STOWAGE_LOCAL_DATA_DIR); clusters can also be given as arguments`;

interface Plan {
  log: Logger;
  services: Service[];
  stopTimeoutMs: number;
  describe?: () => Record<string, unknown>;
}

function logger(level: string, role: string): Logger {
  // Logs on stderr, stdout only for the ready line. A reader that went away (the launcher
  // exiting) must not cut a shutdown short.
  const out = pino.destination({ dest: 2, sync: true });
  out.on("error", () => undefined);
  process.stdout.on("error", () => undefined);
  return pino({ level, base: { role }, redact: ["joinToken", "credential", "*.joinToken", "*.credential"] }, out);
}

/** The node and cluster roles take no arguments, the local role clusters; none takes options. */
function roleArguments(role: string, args: string[]): string[] {
  if (!["node", "cluster", "local"].includes(role)) throw new UsageError(`unknown role '${role}'`);
  const { positionals } = parseCommandLine(args, {});
  if (role !== "local" && positionals.length > 0) throw new UsageError(`the ${role} role takes no arguments, got '${positionals.join(" ")}'`);
  return positionals;
}

async function plan(role: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Plan> {
  const args = roleArguments(role, argv);
  switch (role) {
    case "node": {
      const e = parseEnv(nodeEnvSchema, env);
      const log = logger(e.STOWAGE_LOG_LEVEL, role);
      const node = nodeService(e, log);
      const csi = e.STOWAGE_CSI_SOCKET === undefined ? [] : [nodeCsiServer(e.STOWAGE_CSI_SOCKET, e, () => node.ready?.admin, log)];
      const metrics = new MetricsServer(new AgentMetrics(), e.STOWAGE_METRICS_HOST, e.STOWAGE_METRICS_PORT);
      return { log, services: [node, ...csi, metrics], stopTimeoutMs: e.STOWAGE_SHUTDOWN_TIMEOUT_MS, describe: () => ({ engine: node.ready, csi: e.STOWAGE_CSI_SOCKET }) };
    }
    case "cluster": {
      const e = parseEnv(clusterEnvSchema, env);
      const log = logger(e.STOWAGE_LOG_LEVEL, role);
      const metrics = new AgentMetrics();
      const tls = e.STOWAGE_ENGINE_ADMIN_TLS_DIR === undefined ? undefined : await engineAdminTls(path.resolve(e.STOWAGE_ENGINE_ADMIN_TLS_DIR));
      const cluster = clusterPlan(e, env, tls, log, metrics);
      return {
        log,
        services: [new MetricsServer(metrics, e.STOWAGE_METRICS_HOST, e.STOWAGE_METRICS_PORT), ...cluster.services],
        stopTimeoutMs: e.STOWAGE_SHUTDOWN_TIMEOUT_MS,
        describe: () => ({ clusterId: cluster.role()?.identity?.clusterId, clusterName: cluster.role()?.identity?.clusterName }),
      };
    }
    case "local": {
      const e = parseEnv(localEnvSchema, args.length > 0 ? { ...env, STOWAGE_LOCAL_CLUSTERS: args.join(";") } : env);
      const log = logger(e.STOWAGE_LOG_LEVEL, role);
      const metrics = new AgentMetrics();
      const fleet = new LocalFleet({
        clusters: e.STOWAGE_LOCAL_CLUSTERS,
        dataDir: path.resolve(e.STOWAGE_LOCAL_DATA_DIR),
        controlPlaneUrl: e.STOWAGE_CONTROL_PLANE_URL,
        joinTokens: e.STOWAGE_LOCAL_JOIN_TOKENS,
        telemetryIntervalMs: e.STOWAGE_TELEMETRY_INTERVAL_MS,
        heartbeatIntervalMs: e.STOWAGE_HEARTBEAT_INTERVAL_MS,
        demoWorkload: e.STOWAGE_LOCAL_DEMO_WORKLOAD,
        kubernetes: e.STOWAGE_LOCAL_KUBERNETES,
        nodeCapacity: e.STOWAGE_LOCAL_NODE_CAPACITY,
        log,
        metrics,
      });
      return {
        log,
        services: [new MetricsServer(metrics, e.STOWAGE_METRICS_HOST, e.STOWAGE_METRICS_PORT), fleet],
        stopTimeoutMs: e.STOWAGE_SHUTDOWN_TIMEOUT_MS,
        describe: () => ({
          clusters: fleet.clusters.map((c) => ({ cluster: c.clusterName, clusterId: c.role?.identity?.clusterId ?? null, nodes: c.nodes.map((n) => n.ready), kubeconfig: c.kubernetes?.kubeconfigPath ?? null })),
        }),
      };
    }
    default:
      throw new UsageError(`unknown role '${role}'`);
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [role, ...args] = argv;
  if (role === undefined || role === "-h" || role === "--help") {
    process.stdout.write(`${usage}\n`);
    return role === undefined ? 2 : 0;
  }
  let p: Plan;
  try {
    p = await plan(role, args, env);
  } catch (err) {
    // A usage mistake gets the usage; a bad environment gets parseEnv's message, which names the variable.
    process.stderr.write(err instanceof UsageError ? `stowage-agent: ${err.message}\n${usage}\n` : `${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const group = new ServiceGroup(p.log, p.stopTimeoutMs);
  const signal = waitForSignal();
  try {
    await Promise.race([group.start(p.services), signal.then((s) => Promise.reject(new Error(`stopped by ${s} while starting`)))]);
  } catch (err) {
    p.log.error({ err: err instanceof Error ? err.message : String(err) }, "start failed");
    await group.stop();
    return 1;
  }
  const metricsServer = p.services.find((s): s is MetricsServer => s instanceof MetricsServer);
  const described = p.describe?.() ?? {};
  p.log.info({ ...described, metrics: metricsServer?.address ? `http://${metricsServer.address.host}:${metricsServer.address.port}/metrics` : undefined }, "agent ready");
  process.stdout.write(`${JSON.stringify({ event: "ready", role, ...described })}\n`);
  const sig = await signal;
  p.log.info({ signal: sig }, "agent stopping");
  await group.stop();
  p.log.info({}, "agent stopped");
  return 0;
}
