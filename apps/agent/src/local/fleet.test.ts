import net from "node:net";
import { ChildService, ServiceGroup } from "@stowage/supervisor";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { localEnvSchema, parseEnv } from "../env";
import { parseClusterSpec } from "../env";
import { demoVolumes, nodeIds, startOnPorts } from "./fleet";
import { freePort } from "./processes";

describe("local fleet specs", () => {
  it("parses name:nodes:zones", () => {
    expect(parseClusterSpec("east:3:a,b,c")).toEqual({ name: "east", nodes: 3, zones: ["a", "b", "c"] });
    expect(parseClusterSpec("west:3")).toEqual({ name: "west", nodes: 3, zones: [] });
    expect(nodeIds(parseClusterSpec("west:2"))).toEqual(["west-1", "west-2"]);
    expect(() => parseClusterSpec("East:3")).toThrow(/lowercase/);
    expect(() => parseClusterSpec("east:0")).toThrow(/1..9/);
  });

  it("demo volumes never want more replicas than nodes", () => {
    expect(demoVolumes(parseClusterSpec("solo:1")).every((v) => v.replicas === 1)).toBe(true);
  });

  it("reads the local role's environment with defaults and refuses bad values", () => {
    const env = parseEnv(localEnvSchema, { STOWAGE_CONTROL_PLANE_URL: "http://localhost:3000", STOWAGE_LOCAL_JOIN_TOKENS: '{"east":"stj_x"}' });
    expect(env.STOWAGE_LOCAL_CLUSTERS.map((c) => c.name)).toEqual(["east", "west"]);
    expect(env.STOWAGE_LOCAL_JOIN_TOKENS).toEqual({ east: "stj_x" });
    expect(() => parseEnv(localEnvSchema, { STOWAGE_CONTROL_PLANE_URL: "http://x", STOWAGE_LOCAL_CLUSTERS: "a:1;a:2" })).toThrow(/distinct/);
    expect(() => parseEnv(localEnvSchema, { STOWAGE_CONTROL_PLANE_URL: "http://x", STOWAGE_LOCAL_JOIN_TOKENS: "stj_secret" })).toThrow(/JSON object/);
  });
});

describe("starting a local service on chosen ports", () => {
  const log = pino({ level: "silent" });
  /** A real process that binds `port` and says ready, as etcd and engine nodes do. */
  const binder = (port: number) =>
    new ChildService({
      name: `binder:${port}`,
      command: process.execPath,
      args: ["-e", `require("node:net").createServer().listen(${port}, "127.0.0.1", () => console.log("ready"))`],
      output: "ignore",
      log,
      readyLine: (l) => l === "ready",
    });

  async function occupied(): Promise<{ port: number; close: () => Promise<void> }> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it("chooses new ports when ports chosen just now were taken before the service bound them", async () => {
    const taken = await occupied();
    const group = new ServiceGroup(log, 5_000);
    let port = taken.port;
    let repicks = 0;
    try {
      const svc = await startOnPorts(group, log, true, () => binder(port), async () => {
        repicks++;
        port = await freePort();
      });
      expect(repicks).toBe(1);
      expect(svc.name).toBe(`binder:${port}`);
      expect(port).not.toBe(taken.port);
    } finally {
      await group.stop();
      await taken.close();
    }
  });

  it("never moves kept ports: a taken one is reported", async () => {
    const taken = await occupied();
    const group = new ServiceGroup(log, 5_000);
    let repicks = 0;
    try {
      await expect(startOnPorts(group, log, false, () => binder(taken.port), async () => void repicks++)).rejects.toThrow(/EADDRINUSE/);
      expect(repicks).toBe(0);
    } finally {
      await group.stop();
      await taken.close();
    }
  });
});
