import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Proc } from "@stowage/testing/process";
import { AGENT_BIN } from "../system/harness";

export interface LocalFleet {
  /** Engine node ids per cluster, as the agent reported them when ready. */
  nodes: Record<string, string[]>;
  stop: () => Promise<void>;
}

interface ReadyEvent {
  event: "ready";
  clusters?: Array<{ cluster: string; clusterId?: string | null; nodes?: Array<{ node: string } | null> }>;
}

/**
 * A real fleet next to the e2e control plane: `stowage-agent local` with
 * engine node processes, a private etcd per cluster, registered with the
 * given join tokens, and the demo workload writing to a few volumes.
 * Resolves once every cluster's agent has registered.
 */
export async function startLocalFleet(opts: { controlPlaneUrl: string; clusters: string[]; joinTokens: Record<string, string>; timeoutMs: number }): Promise<LocalFleet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-e2e-fleet-"));
  const proc = new Proc({
    name: "agent",
    command: process.execPath,
    args: [AGENT_BIN, "local"],
    logDir: dir,
    env: {
      STOWAGE_CONTROL_PLANE_URL: opts.controlPlaneUrl,
      STOWAGE_LOCAL_CLUSTERS: opts.clusters.join(";"),
      STOWAGE_LOCAL_DATA_DIR: dir,
      STOWAGE_LOCAL_JOIN_TOKENS: JSON.stringify(opts.joinTokens),
      STOWAGE_LOCAL_NODE_CAPACITY: "2GiB",
      STOWAGE_TELEMETRY_INTERVAL_MS: "2000",
      STOWAGE_LOG_LEVEL: "warn",
    },
  });
  const stop = async () => {
    await proc.stop(30_000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = JSON.parse(await proc.waitForLine((l) => l.startsWith('{"event":"ready"'), opts.timeoutMs)) as ReadyEvent;
    const nodes: Record<string, string[]> = {};
    for (const c of ready.clusters ?? []) {
      if (!c.clusterId) throw new Error(`cluster ${c.cluster} did not register with the control plane; see ${proc.logFile}\n${proc.tail()}`);
      nodes[c.cluster] = (c.nodes ?? []).flatMap((n) => (n ? [n.node] : []));
    }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
