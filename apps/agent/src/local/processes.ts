/** The child processes of the node and local roles: etcd, engine nodes and a local cluster's Kubernetes API server, as the supervisor's ChildServices. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "@stowage/engine";
import { ChildService } from "@stowage/supervisor";
import type { Logger } from "pino";

const execFileAsync = promisify(execFile);

export { freePort };

/** A workspace package's executable, found through the node_modules above the agent. */
function workspaceBin(pkg: string, bin: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, "node_modules", "@stowage", pkg, "bin", bin);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find @stowage/${pkg} (bin/${bin}) in any node_modules above the agent`);
    dir = up;
  }
}

/** The engine's CLI. */
export function engineCli(): string {
  return workspaceBin("engine", "stowage-engine.mjs");
}

export function etcdBinary(): string {
  const bin = [process.env.STOWAGE_ETCD_BIN, "/usr/bin/etcd", "/usr/local/bin/etcd"].find((p): p is string => p !== undefined && p !== "" && fs.existsSync(p));
  if (!bin) throw new Error("etcd is not installed: apt-get install etcd-server (or set STOWAGE_ETCD_BIN)");
  return bin;
}

export async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: unknown };
    return body.health === "true";
  } catch {
    return false;
  }
}

/** A single-member etcd on loopback with its data in `dataDir`. */
export function etcdService(opts: { name: string; dataDir: string; clientPort: number; peerPort: number; logFile: string; log: Logger }): ChildService & { endpoint: string } {
  const endpoint = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  const svc = new ChildService({
    name: opts.name,
    command: etcdBinary(),
    args: [
      "--name", "local",
      "--data-dir", opts.dataDir,
      "--listen-client-urls", endpoint,
      "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `local=${peer}`,
      "--log-level", "error",
    ],
    env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === "x64" ? "" : process.arch },
    output: { logFile: opts.logFile },
    log: opts.log,
    ready: () => etcdHealthy(endpoint),
    readyTimeoutMs: 30_000,
  });
  return Object.assign(svc, { endpoint });
}

export interface EngineNodeSpec {
  id: string;
  zone?: string;
  rack?: string;
  etcd: string;
  poolDir: string;
  tlsDir: string;
  capacity?: string;
  /** Key-encryption key file (`--kms-key-file`): the node can then create and serve encrypted volumes. */
  kmsKeyFile?: string;
  /**
   * Listen addresses; each defaults to a free loopback port. `adminTls`: the admin API over
   * mutual TLS on any address (`--admin-tls`), with `adminTlsNames` put in the node's
   * certificate; `advertise`: the HOST:PORT peers dial when the listener is on 0.0.0.0.
   */
  listen?: { replication?: string; nbd?: string; admin?: string; adminTls?: string; adminTlsNames?: string[]; advertise?: string };
  logFile: string;
  log: Logger;
  extraArgs?: string[];
}

export interface EngineReady {
  node: string;
  replication: string;
  nbd?: string;
  admin?: string;
  adminTls?: string;
}

/** `stowage-engine serve` in cluster mode on loopback ports; `ready` holds its addresses once started. */
export class EngineNodeService extends ChildService {
  constructor(spec: EngineNodeSpec) {
    super({
      name: `engine:${spec.id}`,
      command: process.execPath,
      args: [
        engineCli(),
        "serve",
        "--etcd", spec.etcd,
        "--node-id", spec.id,
        ...(spec.zone ? ["--zone", spec.zone] : []),
        ...(spec.rack ? ["--rack", spec.rack] : []),
        "--pool", spec.poolDir,
        "--tls-dir", spec.tlsDir,
        "--listen-replication", spec.listen?.replication ?? "127.0.0.1:0",
        "--nbd", spec.listen?.nbd ?? "127.0.0.1:0",
        "--admin", spec.listen?.admin ?? "127.0.0.1:0",
        ...(spec.listen?.adminTls ? ["--admin-tls", spec.listen.adminTls] : []),
        ...(spec.listen?.adminTlsNames?.length ? ["--admin-tls-name", spec.listen.adminTlsNames.join(",")] : []),
        ...(spec.listen?.advertise ? ["--advertise", spec.listen.advertise] : []),
        ...(spec.capacity ? ["--capacity", spec.capacity] : []),
        ...(spec.kmsKeyFile ? ["--kms-key-file", spec.kmsKeyFile] : []),
        ...(spec.extraArgs ?? []),
      ],
      output: { logFile: spec.logFile },
      log: spec.log,
      readyLine: (l) => l.includes('"event":"ready"'),
      readyTimeoutMs: 90_000,
      exitWithParent: true,
      // Out of the terminal's process group: Ctrl-C reaches the agent, which unstages volumes while
      // this process still serves them, then stops it in order (it still exits with the agent).
      detached: true,
    });
  }

  get ready(): EngineReady | null {
    if (this.readyLine === null) return null;
    return JSON.parse(this.readyLine) as EngineReady;
  }
}

/**
 * A random key-encryption key for one cluster's nodes, once (32 bytes, hex, mode 0600): every
 * node of the cluster gets the same file, so any of them can serve its encrypted volumes.
 */
export function ensureClusterKeyFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Kept across restarts: a new key would make the cluster's encrypted volumes unreadable.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

/** `stowage-engine cluster init`: CA and node certificates, once. */
export async function initClusterCerts(tlsDir: string, nodeIds: string[], name: string): Promise<void> {
  if (fs.existsSync(path.join(tlsDir, "ca.pem"))) return;
  try {
    await execFileAsync(process.execPath, [engineCli(), "cluster", "init", "--dir", tlsDir, "--nodes", nodeIds.join(","), "--name", name, "--ip", "127.0.0.1"], { timeout: 120_000 });
  } catch (err) {
    throw new Error(`cluster init for ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface KubeApiServerSpec {
  /** Names the service (`kube-apiserver:<cluster>`). */
  cluster: string;
  etcd: string;
  /** Key prefix in etcd, so the API server can share the engine cluster's etcd. */
  prefix: string;
  port: number;
  /** Its certificates, token file and written kubeconfig live here. */
  dir: string;
  /** The static bearer token of the cluster's admin (group system:masters). */
  token: string;
  logFile: string;
  log: Logger;
}

/**
 * A local cluster's Kubernetes API server (`stowage-kube-apiserver`) in its own process, as
 * kube-apiserver runs in a real cluster: its request handling, watch fan-out and etcd traffic get
 * their own event loop instead of competing with the controllers, kubelets and CSI driver.
 */
export class KubeApiServerProcess extends ChildService {
  readonly kubeconfigPath: string;

  constructor(spec: KubeApiServerSpec) {
    const tokenFile = path.join(spec.dir, "tokens.csv");
    const kubeconfigPath = path.join(spec.dir, "kubeconfig");
    fs.mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
    // kube-apiserver's static token file format: token,user,uid,"groups".
    fs.writeFileSync(tokenFile, `${spec.token},stowage-local-admin,stowage-local-admin,"system:masters"\n`, { mode: 0o600 });
    super({
      name: `kube-apiserver:${spec.cluster}`,
      command: process.execPath,
      args: [
        workspaceBin("kube-apiserver", "stowage-kube-apiserver.mjs"),
        "--etcd", spec.etcd,
        "--prefix", spec.prefix,
        "--listen", `127.0.0.1:${spec.port}`,
        "--token-file", tokenFile,
        "--cert-dir", path.join(spec.dir, "pki"),
        "--kubeconfig-out", kubeconfigPath,
      ],
      output: { logFile: spec.logFile },
      log: spec.log,
      readyLine: (l) => l.includes('"event":"ready"'),
      readyTimeoutMs: 60_000,
      exitWithParent: true,
      // Out of the terminal's process group: Ctrl-C reaches the agent, which unstages volumes while
      // this process still serves them, then stops it in order (it still exits with the agent).
      detached: true,
    });
    this.kubeconfigPath = kubeconfigPath;
  }

  /** The server's URL, once it is ready. */
  get url(): string | null {
    if (this.readyLine === null) return null;
    const ready = JSON.parse(this.readyLine) as { url?: unknown };
    return typeof ready.url === "string" ? ready.url : null;
  }
}
