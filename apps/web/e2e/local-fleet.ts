import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
const AGENT_BIN = path.join(REPO_ROOT, "apps", "agent", "bin", "stowage-agent.mjs");

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
  const logFile = path.join(dir, "agent.log");
  const log = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn(process.execPath, [AGENT_BIN, "local"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", log],
    env: {
      ...process.env,
      STOWAGE_CONTROL_PLANE_URL: opts.controlPlaneUrl,
      STOWAGE_LOCAL_CLUSTERS: opts.clusters.join(";"),
      STOWAGE_LOCAL_DATA_DIR: dir,
      STOWAGE_LOCAL_JOIN_TOKENS: JSON.stringify(opts.joinTokens),
      STOWAGE_LOCAL_NODE_CAPACITY: "2GiB",
      STOWAGE_TELEMETRY_INTERVAL_MS: "2000",
      STOWAGE_LOG_LEVEL: "warn",
    },
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(forced);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ready = await new Promise<ReadyEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the local fleet was not ready within ${opts.timeoutMs} ms; log: ${tail(logFile)}`)), opts.timeoutMs);
      let buf = "";
      child.stdout?.on("data", (d: Buffer) => {
        fs.appendFileSync(logFile, d);
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.startsWith('{"event":"ready"')) continue;
          clearTimeout(timer);
          resolve(JSON.parse(line) as ReadyEvent);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the local fleet exited before it was ready; log: ${tail(logFile)}`));
      });
    });
    const nodes: Record<string, string[]> = {};
    for (const c of ready.clusters ?? []) {
      if (!c.clusterId) throw new Error(`cluster ${c.cluster} did not register with the control plane; log: ${tail(logFile)}`);
      nodes[c.cluster] = (c.nodes ?? []).flatMap((n) => (n ? [n.node] : []));
    }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}
