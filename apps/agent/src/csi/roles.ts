/**
 * The CSI driver as each role serves it: the cluster role answers Identity and
 * Controller for the whole engine cluster, the node role Identity and Node for
 * its own engine node.
 */
import path from "node:path";
import { ClusterAdminClient } from "@stowage/engine";
import type { Logger } from "pino";
import type { NodeEnv } from "../env";
import { ControllerService } from "./controller";
import { ControllerState } from "./controller-state";
import { NodeService } from "./node";
import { CsiServer } from "./server";
import { agentPackageVersion } from "./version";

/** Probe: the engine answers its node list. */
async function engineAnswers(engine: ClusterAdminClient): Promise<boolean> {
  try {
    await engine.nodes();
    return true;
  } catch {
    return false;
  }
}

export function controllerCsiServer(socketPath: string, stateDir: string, engine: ClusterAdminClient, log: Logger): CsiServer {
  const csiLog = log.child({ component: "csi-controller" });
  return new CsiServer({
    socketPath,
    vendorVersion: agentPackageVersion(),
    ready: () => engineAnswers(engine),
    controller: new ControllerService({ engine, state: new ControllerState(stateDir), log: csiLog }),
    log: csiLog,
  });
}

/** `engineAdminAddress`: the node's own admin endpoint once its engine has started. */
export function nodeCsiServer(socketPath: string, env: NodeEnv, engineAdminAddress: () => string | undefined, log: Logger): CsiServer {
  const csiLog = log.child({ component: "csi-node" });
  // The node's own admin endpoint is known once its engine has started (the CSI server starts after it).
  let engine: ClusterAdminClient | null = null;
  const localEngine = (): ClusterAdminClient | null => {
    const admin = engineAdminAddress();
    if (engine === null && admin !== undefined) engine = new ClusterAdminClient([admin], { timeoutMs: 5_000 });
    return engine;
  };
  const plugin = new NodeService({
    nodeId: env.STOWAGE_NODE_ID,
    zone: env.STOWAGE_ZONE,
    rack: env.STOWAGE_RACK,
    stateDir: path.resolve(env.STOWAGE_CSI_STATE_DIR ?? path.join(env.STOWAGE_POOL_DIR, "..", "csi")),
    log: csiLog,
  });
  return nodePluginServer(socketPath, plugin, async () => {
    const e = localEngine();
    return e !== null && (await engineAnswers(e));
  }, csiLog);
}

/** Identity and Node on `socketPath` for one node plugin; Probe answers `ready`. */
export function nodePluginServer(socketPath: string, plugin: NodeService, ready: () => Promise<boolean>, log: Logger): CsiServer {
  return new CsiServer({ socketPath, vendorVersion: agentPackageVersion(), ready, node: plugin, log });
}
