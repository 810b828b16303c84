/**
 * A real engine cluster for the CSI suites (the pattern of
 * cluster-role.int.test.ts): a private etcd and three engine nodes in zones
 * a, b and c, a CSI server with Identity + Controller on one socket, and a
 * node plugin (Identity + Node) per engine node id asked for, each on its own
 * socket, all driven through grpc-js clients as a CO would.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { credentials, type Client, type ServiceError, type status } from "@grpc/grpc-js";
import type { ClusterAdminClient } from "@stowage/engine";
import { pino } from "pino";
import { expect } from "vitest";
import { ControllerService, ControllerState, CsiServer, csiServices, NodeService } from "../../src/csi";
import { startEngineCluster, type EngineCluster } from "../support/engine-cluster";

const log = pino({ level: "warn" });
const ZONES: Record<string, string> = { n1: "a", n2: "b", n3: "c" };

export interface CsiCluster {
  dir: string;
  admin: ClusterAdminClient;
  /** Identity + Controller. */
  controller: Client;
  controllerIdentity: Client;
  /** Identity + Node of each node plugin, by engine node id. */
  nodes: Map<string, { node: Client; identity: Client; service: NodeService }>;
  stop(): Promise<void>;
}

function clientFor(kind: "Identity" | "Controller" | "Node", socket: string): Client {
  const Ctor = csiServices()[kind];
  return new Ctor(`unix://${socket}`, credentials.createInsecure());
}

export async function startCsiCluster(opts: { nodePlugins: string[] }): Promise<CsiCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-csi-"));
  let cluster: EngineCluster | undefined;
  const clients: Client[] = [];
  const nodeServices: NodeService[] = [];
  const stop = async () => {
    for (const s of nodeServices) await s.unstageAll().catch((err: unknown) => log.error({ err: String(err) }, "unstage after the suite failed"));
    for (const c of clients) c.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    cluster = await startEngineCluster({ dir, log, capacity: "4GiB" });
    const group = cluster.group;
    const admin = cluster.admin();
    const ready = () => admin.nodes().then((n) => n.length > 0);

    const controllerSocket = path.join(dir, "sockets", "controller.sock");
    const controller = new ControllerService({ engine: admin, state: new ControllerState(path.join(dir, "controller")), log });
    await group.start([new CsiServer({ socketPath: controllerSocket, vendorVersion: "0.0.0-test", ready, controller, log })]);

    const nodes = new Map<string, { node: Client; identity: Client; service: NodeService }>();
    for (const id of opts.nodePlugins) {
      const socket = path.join(dir, "sockets", `node-${id}.sock`);
      const service = new NodeService({ nodeId: id, zone: ZONES[id], stateDir: path.join(dir, "node", id), log });
      nodeServices.push(service);
      await group.start([new CsiServer({ socketPath: socket, vendorVersion: "0.0.0-test", ready, node: service, log })]);
      const entry = { node: clientFor("Node", socket), identity: clientFor("Identity", socket), service };
      clients.push(entry.node, entry.identity);
      nodes.set(id, entry);
    }
    const c = { controller: clientFor("Controller", controllerSocket), controllerIdentity: clientFor("Identity", controllerSocket) };
    clients.push(c.controller, c.controllerIdentity);
    return { dir, admin, ...c, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One unary call, its answer typed as the test expects it. Adapter: grpc-js
 * clients are untyped at runtime (methods made from csi.proto), so the
 * method is looked up by name and the answer cast.
 */
export function call<T>(client: Client, method: string, request: object): Promise<T> {
  const fn: unknown = Reflect.get(client, method);
  if (typeof fn !== "function") throw new Error(`the client has no method ${method}`);
  return new Promise<T>((resolve, reject) => {
    Reflect.apply(fn, client, [request, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res))]);
  });
}

/** The call fails with `code`, and its message matches `message`. */
export async function expectStatus(p: Promise<unknown>, code: status, message?: RegExp): Promise<void> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected status ${code}`).toBeInstanceOf(Error);
  expect((err as ServiceError).code, (err as ServiceError).details).toBe(code);
  if (message) expect((err as ServiceError).details).toMatch(message);
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export const mountCap = (fsType = "", mode = "SINGLE_NODE_WRITER") => ({ mount: { fs_type: fsType, mount_flags: [] }, access_mode: { mode } });
export const blockCap = (mode = "SINGLE_NODE_WRITER") => ({ block: {}, access_mode: { mode } });
