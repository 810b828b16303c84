/**
 * Two engine clusters, `east` and `west`, each with its own etcd and CA, every
 * node serving a mobility endpoint; west's first node is reached through a TCP
 * relay (the "link") that records what crosses it and can be cut. By default
 * both run on loopback; `west` places west's etcd and nodes in a network
 * namespace instead (a real link that can be cut, see partition.test.ts).
 * East is paired with west through the CLI, as an operator would.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { etcdBinary, etcdHealthy, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { Proc } from "@stowage/testing/process";
import { z } from "zod";
import { adminApi } from "../../src/admin/api";
import { runCli } from "../../src/cli/run";
import { LocalFileKms } from "../../src/kms/local-file";
import { endpointRecordSchema, mobilityKeys, runRecordSchema, type RunRecord } from "../../src/cluster/mobility/records";
import { run } from "../interop/harness";
import { locator, openVolume, TestCluster, type NodeSpec } from "../cluster/harness";

export const MiB = 1024 * 1024;

export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, waitForStop: () => new Promise(() => undefined) });
  return { code, out, err };
}

/** A TCP relay standing for the link between the clusters: records client→server bytes, can be cut and healed. */
export class LinkRelay {
  readonly captured: Buffer[] = [];
  capture = false;
  private cutOff = false;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  port = 0;

  constructor(private readonly upstream: () => Promise<{ host: string; port: number }>) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (this.cutOff) {
        client.destroy();
        return;
      }
      this.sockets.add(client);
      client.once("close", () => this.sockets.delete(client));
      client.pause();
      void this.upstream().then(
        ({ host, port }) => {
          const server = net.connect({ host, port });
          this.sockets.add(server);
          server.once("close", () => {
            this.sockets.delete(server);
            client.destroy();
          });
          client.once("close", () => server.destroy());
          server.on("error", () => client.destroy());
          client.on("error", () => server.destroy());
          client.on("data", (d: Buffer) => {
            if (this.capture) this.captured.push(Buffer.from(d));
          });
          client.pipe(server);
          server.pipe(client);
          client.resume();
        },
        () => client.destroy(),
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const a = this.server.address();
    if (a === null || typeof a === "string") throw new Error("relay address");
    this.port = a.port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Every connection across the link drops and new ones are refused until `heal`. */
  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.cutOff = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

export interface Clusters {
  east: TestCluster;
  west: TestCluster;
  relay: LinkRelay;
  dir: string;
  /** The relay leads to this west volume's target (so no redirect goes around it); default w1. */
  relayTo: { volume: string | null };
  /** The command prefix that reaches west's NBD exports (they listen on loopback: in its namespace, if placed in one). */
  westWrap: string[];
  stop(): Promise<void>;
}

async function endpointOf(c: TestCluster, node: string): Promise<{ host: string; port: number }> {
  const rec = await pollUntil(async () => (await c.store.get(mobilityKeys.endpoint(node), endpointRecordSchema))?.value, { what: `mobility endpoint of ${node}`, timeoutMs: 10_000 });
  const i = rec.address.lastIndexOf(":");
  return { host: rec.address.slice(0, i), port: Number(rec.address.slice(i + 1)) };
}

/** Where west runs when not on loopback: inside a network namespace, with its own etcd there. */
export interface WestPlacement {
  /** The command prefix that runs a process in the namespace (`ip netns exec NS`). */
  wrap: string[];
  /** The namespace's address: west's mobility endpoints listen on it (NBD only ever on loopback). */
  host: string;
  /** West's etcd, started in the namespace (`startEtcdIn`). */
  etcd: PrivateEtcd;
}

/**
 * An etcd inside a network namespace, listening on the namespace's address (reachable from the
 * test through the veth, and from west's nodes in the namespace while the link is cut). The
 * namespace is new and private, so etcd's usual ports are free there.
 */
export async function startEtcdIn(wrap: string[], host: string, dir: string): Promise<PrivateEtcd> {
  const [command, ...pre] = wrap;
  if (command === undefined) throw new Error("startEtcdIn: wrap is empty");
  const dataDir = path.join(dir, "west-etcd");
  const endpoint = `http://${host}:2379`;
  const peer = `http://${host}:2380`;
  const proc = new Proc({
    name: "west-etcd",
    command,
    args: [...pre, etcdBinary(), "--name", "west", "--data-dir", dataDir, "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `west=${peer}`, "--log-level", "error"],
    logDir: dir,
  });
  const stop = async (): Promise<void> => {
    await proc.stop(5_000);
  };
  try {
    await pollUntil(() => etcdHealthy(endpoint), { what: `west's etcd at ${endpoint} to be healthy`, timeoutMs: 30_000, intervalMs: 100 });
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}; see ${proc.logFile}`);
  }
  return { endpoint, dataDir, proc, stop };
}

/**
 * `direct`: east reaches west's nodes straight, not through the relay (the benchmark: the relay
 * is a process of the test's own, piping every byte through this one, which a real link between
 * clusters is not; it would compete with the engines for the machine's cores).
 */
export async function startClusters(opts: { eastNodes: NodeSpec[]; westCapacity?: string; direct?: boolean; west?: WestPlacement }): Promise<Clusters> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "stowage-mobility-"));
  const eastKek = path.join(dir, "east-kek");
  const westKek = path.join(dir, "west-kek");
  await LocalFileKms.generateKeyFile(eastKek);
  await LocalFileKms.generateKeyFile(westKek);
  const mob = (kek: string, host = "127.0.0.1"): string[] => ["--mobility", `${host}:0`, "--kms-key-file", kek];
  const placed = opts.west;
  const westNodes: NodeSpec[] = ["w1", "w2"].map((id) => (placed ? { id, args: mob(westKek, placed.host), wrap: placed.wrap } : { id, args: mob(westKek) }));
  // One cluster after the other: seven processes starting at once on a busy 2-core machine miss the ready timeout.
  const east = await TestCluster.start({ nodes: opts.eastNodes.map((n) => ({ ...n, args: [...mob(eastKek), ...(n.args ?? [])] })), quiet: true });
  const west = await TestCluster.start({
    nodes: westNodes,
    quiet: true,
    ...(opts.westCapacity ? { capacity: opts.westCapacity } : {}),
    ...(placed ? { etcd: placed.etcd, certIps: [placed.host] } : {}),
  }).catch(async (err: unknown) => {
    await east.stop();
    throw err;
  });
  const route: { volume: string | null } = { volume: null };
  const relayTo = async (): Promise<{ host: string; port: number }> => {
    const target = route.volume === null ? undefined : (await west.volume(route.volume))?.target?.nodeId;
    return endpointOf(west, target ?? "w1");
  };
  const relay = new LinkRelay(relayTo);
  await relay.start();
  const w2 = await endpointOf(west, "w2");
  const first = opts.direct === true ? await endpointOf(west, "w1") : null;
  const bundle = path.join(dir, "east.bundle.json");
  // West lets east in; east installs west as a peer. The relay is west's first endpoint.
  const issued = await cli(["mobility", "pair", "issue", "--tls-dir", west.tlsDir, "--cluster", "west", "--peer", "east", "--endpoint", first ? `${first.host}:${first.port}` : relay.address, "--endpoint", `${w2.host}:${w2.port}`, "--out", bundle]);
  if (issued.code !== 0) throw new Error(`pair issue: ${issued.err}`);
  const added = await cli(["mobility", "peer", "add", "--bundle", bundle, "--admin", east.admin(opts.eastNodes[0]?.id ?? "e1")]);
  if (added.code !== 0) throw new Error(`peer add: ${added.err}`);
  const clusters: Clusters = {
    east,
    west,
    relay,
    dir,
    relayTo: route,
    westWrap: placed?.wrap ?? [],
    async stop() {
      await relay.stop().catch(() => undefined);
      await Promise.all([east.stop(), west.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return clusters;
}

export async function createVolume(c: TestCluster, node: string, body: { name: string; size: number; replicas: number; encrypted?: boolean; target?: string }): Promise<void> {
  await c.client(node).admin.call(adminApi.createClusterVolume, { body });
}

/** Writes `data` at `offset` through the volume's target over NBD, then flushes. */
export async function writeAt(c: TestCluster, volume: string, writes: Array<{ offset: number; data: Buffer }>): Promise<void> {
  const nbd = await openVolume(c, volume);
  try {
    for (const w of writes) {
      for (let at = 0; at < w.data.length; at += 4 * MiB) {
        const r = await nbd.write(w.offset + at, w.data.subarray(at, Math.min(w.data.length, at + 4 * MiB)));
        if (r.error !== 0) throw new Error(`write at ${w.offset + at}: NBD error ${r.error}`);
      }
    }
    const f = await nbd.flush();
    if (f.error !== 0) throw new Error(`flush: NBD error ${f.error}`);
  } finally {
    nbd.close();
  }
}

/** SHA-256 of the whole volume as a real NBD client (nbdcopy, run under `wrap`) reads it from its target. */
export async function nbdHash(c: TestCluster, volume: string, dir: string, wrap: string[] = []): Promise<string> {
  const locate = locator(c, volume);
  const ep = await pollUntil(async () => (await locate()) ?? undefined, { what: `target of ${volume}`, timeoutMs: 20_000 });
  const file = path.join(dir, `${volume}-${Date.now()}-${Math.random().toString(36).slice(2)}.img`);
  const [command, ...pre] = [...wrap, "nbdcopy"];
  const res = await run(command ?? "nbdcopy", [...pre, `nbd://${ep.host}:${ep.port}/${volume}`, file], { allowFailure: true });
  if (res.code !== 0) throw new Error(`nbdcopy ${volume}: ${res.stderr}`);
  const hash = createHash("sha256").update(await readFile(file)).digest("hex");
  rmSync(file, { force: true });
  return hash;
}

export async function runRecord(c: TestCluster, volume: string): Promise<RunRecord | null> {
  return (await c.store.get(mobilityKeys.run(volume), runRecordSchema))?.value ?? null;
}

export async function waitRunState(c: TestCluster, volume: string, states: RunRecord["state"][], timeoutMs = 60_000): Promise<RunRecord> {
  return pollUntil(async () => {
    const r = await runRecord(c, volume);
    return r && states.includes(r.state) ? r : undefined;
  }, { what: `replication of ${volume} to reach ${states.join("/")}`, timeoutMs, intervalMs: 50 });
}

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export const readyMobilitySchema = z.object({ mobility: z.string() });

/** Deterministic incompressible bytes (a counter through SHA-256), so compression cannot hide what is sent. */
export function randomish(length: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let at = 0, i = 0; at < length; at += 32, i++) createHash("sha256").update(`${seed}:${i}`).digest().copy(out, at);
  return out;
}
