import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/util/free-port";

export interface PrivateEtcd {
  endpoint: string;
  dataDir: string;
  stop(): Promise<void>;
}

async function waitHealthy(endpoint: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const started = Date.now();
  let exited = false;
  child.once("exit", () => (exited = true));
  // Poll the health endpoint: etcd prints nothing machine-readable when ready.
  while (Date.now() - started < deadlineMs) {
    if (exited) throw new Error("etcd exited during start");
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) {
        const body = (await res.json()) as { health?: string };
        if (body.health === "true") return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd not healthy after ${deadlineMs} ms`);
}

/** A single-member etcd on free loopback ports in a temp dir, for tests. */
export async function startPrivateEtcd(opts: { host?: string } = {}): Promise<PrivateEtcd> {
  // Loopback unless a test needs etcd reachable from network namespaces it created.
  const host = opts.host ?? "127.0.0.1";
  const bin = ["/usr/bin/etcd", "/usr/local/bin/etcd"].find((p) => fs.existsSync(p));
  if (!bin) throw new Error("etcd is not installed: apt-get install etcd-server (.ci/run does this)");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-etcd-"));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://${host}:${clientPort}`;
  const child = spawn(
    bin,
    [
      "--name", "test",
      "--data-dir", dataDir,
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", `http://${host}:${peerPort}`,
      "--initial-advertise-peer-urls", `http://${host}:${peerPort}`,
      "--initial-cluster", `test=http://${host}:${peerPort}`,
      "--log-level", "error",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === "x64" ? "" : process.arch } },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitHealthy(endpoint, child, 20_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${err instanceof Error ? err.message : String(err)}: ${stderr}`);
  }
  return {
    endpoint,
    dataDir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
