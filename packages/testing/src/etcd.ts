/** A single-member etcd on free ports, for the suites that need a real consensus store. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pollUntil, startFailedOnTakenPort } from "@stowage/supervisor";
import { freePort } from "./ports";
import { Proc } from "./process";

export interface PrivateEtcd {
  endpoint: string;
  dataDir: string;
  proc: Proc;
  /** Stops it; a data dir it made itself is removed. */
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** Loopback unless a test needs etcd reachable from network namespaces it created. */
  host?: string;
  /** Default: a new temp dir, removed on stop. */
  dataDir?: string;
  /** Where `<name>.log` goes; default the temp dir (or beside `dataDir`). */
  logDir?: string;
  name?: string;
  timeoutMs?: number;
}

export function etcdBinary(): string {
  const bin = [process.env.STOWAGE_ETCD_BIN, "/usr/bin/etcd", "/usr/local/bin/etcd"].find((p): p is string => p !== undefined && p !== "" && fs.existsSync(p));
  if (!bin) throw new Error("etcd is not installed: apt-get install etcd-server (or set STOWAGE_ETCD_BIN)");
  return bin;
}

/** Whether etcd at `endpoint` answers its health check with `"health": "true"`. */
export async function etcdHealthy(endpoint: string): Promise<boolean> {
  const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
  return res.ok && ((await res.json()) as { health?: unknown }).health === "true";
}

/**
 * Starts etcd on two free ports. A port found free can be taken by another process before etcd
 * binds it (suites start many servers side by side); a fresh start that fails that way is tried
 * again on new ports. A data dir that existed before is not retried: its member keeps its URLs.
 */
export async function startEtcd(opts: EtcdOptions = {}): Promise<PrivateEtcd> {
  const fresh = opts.dataDir === undefined || !fs.existsSync(opts.dataDir);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEtcdOnce(opts);
    } catch (err) {
      if (!fresh || !startFailedOnTakenPort(err) || attempt >= 3) throw err;
      if (opts.dataDir !== undefined) fs.rmSync(opts.dataDir, { recursive: true, force: true });
    }
  }
}

async function startEtcdOnce(opts: EtcdOptions): Promise<PrivateEtcd> {
  const host = opts.host ?? "127.0.0.1";
  const bin = etcdBinary();
  const own = opts.dataDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "stowage-etcd-")) : null;
  const dataDir = opts.dataDir ?? path.join(own ?? "", "data");
  const name = opts.name ?? "etcd";
  const [clientPort, peerPort] = [await freePort(host), await freePort(host)];
  const endpoint = `http://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const proc = new Proc({
    name,
    command: bin,
    args: [
      "--name", "test",
      "--data-dir", dataDir,
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `test=${peer}`,
      "--log-level", "error",
    ],
    env: { ETCD_UNSUPPORTED_ARCH: process.arch === "x64" ? "" : process.arch },
    logDir: opts.logDir ?? own ?? path.dirname(dataDir),
  });
  const stop = async () => {
    await proc.stop(5_000);
    if (own) fs.rmSync(own, { recursive: true, force: true });
  };
  const exited = new AbortController();
  void proc.exited.then(() => exited.abort(new Error(`etcd exited during start; see ${proc.logFile}\n${proc.tail()}`)));
  try {
    // Polled: etcd prints nothing machine-readable when it is ready.
    await pollUntil(() => etcdHealthy(endpoint), { what: `etcd at ${endpoint} to be healthy`, timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 50, signal: exited.signal });
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, dataDir, proc, stop };
}
