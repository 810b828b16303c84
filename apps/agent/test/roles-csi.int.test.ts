/**
 * `stowage-agent node` with STOWAGE_CSI_SOCKET set: the real binary starts its
 * engine node and serves CSI Identity and Node on the socket, and stops
 * cleanly (socket removed) on SIGTERM.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { credentials, type Client } from "@grpc/grpc-js";
import { csiServices } from "@stowage/csi-spec";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { pollUntil } from "@stowage/testing/poll";
import { Proc } from "@stowage/testing/process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initClusterCerts } from "../src/local/processes";
import { call } from "./csi/fixture";

const BIN = path.resolve(import.meta.dirname, "../bin/stowage-agent.mjs");

describe("the node role serves CSI on its socket", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-agent-roles-"));
  const socket = path.join(dir, "csi.sock");
  let etcd: PrivateEtcd | undefined;
  let agent: Proc | undefined;
  let ready = false;

  beforeAll(async () => {
    [etcd] = await Promise.all([startEtcd({ dataDir: path.join(dir, "etcd"), logDir: dir }), initClusterCerts(path.join(dir, "tls"), ["n1"], "roles")]);
    agent = new Proc({
      name: "agent-node",
      command: process.execPath,
      args: [BIN, "node"],
      logDir: dir,
      env: {
        STOWAGE_NODE_ID: "n1",
        STOWAGE_ZONE: "a",
        STOWAGE_ETCD: etcd.endpoint,
        STOWAGE_POOL_DIR: path.join(dir, "pool"),
        STOWAGE_TLS_DIR: path.join(dir, "tls"),
        STOWAGE_CAPACITY: "1GiB",
        STOWAGE_CSI_SOCKET: socket,
      },
      onLine: (line, stream) => {
        if (stream === "stdout" && line.includes('"event":"ready"')) ready = true;
      },
    });
    await pollUntil(() => ready, { timeoutMs: 90_000, what: "the node role's ready line" });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await etcd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers Identity and Node with the node's id and zone", async () => {
    const { Identity, Node } = csiServices();
    const identity = new Identity(`unix://${socket}`, credentials.createInsecure()) as Client;
    const node = new Node(`unix://${socket}`, credentials.createInsecure()) as Client;
    try {
      const info = await call<{ name: string; vendor_version: string }>(identity, "GetPluginInfo", {});
      expect(info.name).toBe("csi.stowage.io");
      expect(info.vendor_version).not.toBe("");
      await pollUntil(async () => (await call<{ ready: { value: boolean } | null }>(identity, "Probe", {})).ready?.value === true, { timeoutMs: 30_000, what: "Probe ready" });
      const nodeInfo = await call<{ node_id: string; accessible_topology: { segments: Record<string, string> } }>(node, "NodeGetInfo", {});
      expect(nodeInfo.node_id).toBe("n1");
      expect(nodeInfo.accessible_topology.segments["topology.stowage.io/zone"]).toBe("a");
    } finally {
      identity.close();
      node.close();
    }
  });

  it("removes its socket when stopped", async () => {
    const proc = agent;
    if (!proc) throw new Error("agent not started");
    proc.signal("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
  }, 60_000);
});
