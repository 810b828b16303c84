import { describe, expect, it } from "vitest";
import { localEnvSchema, parseEnv } from "../env";
import { parseClusterSpec } from "../env";
import { demoVolumes, nodeIds } from "./fleet";

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
