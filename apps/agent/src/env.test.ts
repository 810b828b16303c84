import { describe, expect, it } from "vitest";
import { clusterEnvSchema, nodeEnvSchema, parseEnv } from "./env";
import { advertiseAddress } from "./node/role";

const clusterBase = { STOWAGE_CONTROL_PLANE_URL: "https://cp.example.com" };
const nodeBase = { STOWAGE_NODE_ID: "node-a", STOWAGE_ETCD: "http://127.0.0.1:2379", STOWAGE_POOL_DIR: "/pool", STOWAGE_TLS_DIR: "/tls" };

describe("cluster role environment: engine admin endpoints", () => {
  it("takes plain and https:// endpoints, the https ones with a TLS directory", () => {
    const env = parseEnv(clusterEnvSchema, { ...clusterBase, STOWAGE_ENGINE_ADMIN: "https://admin.stowage-system.svc:9809, 127.0.0.1:9809", STOWAGE_ENGINE_ADMIN_TLS_DIR: "/etc/stowage/admin-tls" });
    expect(env.STOWAGE_ENGINE_ADMIN).toEqual(["https://admin.stowage-system.svc:9809", "127.0.0.1:9809"]);
    expect(env.STOWAGE_ENGINE_ADMIN_TLS_DIR).toBe("/etc/stowage/admin-tls");
    expect(parseEnv(clusterEnvSchema, { ...clusterBase, STOWAGE_ENGINE_ADMIN: "127.0.0.1:9809" }).STOWAGE_ENGINE_ADMIN_TLS_DIR).toBeUndefined();
  });

  it("refuses https:// endpoints without the TLS directory, and other schemes, naming the field", () => {
    expect(() => parseEnv(clusterEnvSchema, { ...clusterBase, STOWAGE_ENGINE_ADMIN: "https://admin:9809" })).toThrow(/STOWAGE_ENGINE_ADMIN_TLS_DIR: required when STOWAGE_ENGINE_ADMIN has https/);
    expect(() => parseEnv(clusterEnvSchema, { ...clusterBase, STOWAGE_ENGINE_ADMIN: "http://admin:9809", STOWAGE_ENGINE_ADMIN_TLS_DIR: "/x" })).toThrow(/STOWAGE_ENGINE_ADMIN\.0: expected HOST:PORT or https:\/\/HOST:PORT/);
    expect(() => parseEnv(clusterEnvSchema, { ...clusterBase, STOWAGE_ENGINE_ADMIN: "https://admin" , STOWAGE_ENGINE_ADMIN_TLS_DIR: "/x" })).toThrow(/STOWAGE_ENGINE_ADMIN\.0/);
  });
});

describe("node role environment: admin over TLS and the advertised address", () => {
  it("leaves the TLS endpoint and the advertised address off by default", () => {
    const env = parseEnv(nodeEnvSchema, nodeBase);
    expect(env.STOWAGE_ADMIN_TLS).toBeUndefined();
    expect(env.STOWAGE_NODE_IP).toBeUndefined();
    expect(env.STOWAGE_ADMIN_TLS_NAMES).toBeUndefined();
  });

  it("parses STOWAGE_ADMIN_TLS, its names and STOWAGE_NODE_IP, and advertises IP:<replication port>", () => {
    const env = parseEnv(nodeEnvSchema, {
      ...nodeBase,
      STOWAGE_ADMIN_TLS: "0.0.0.0:9809",
      STOWAGE_ADMIN_TLS_NAMES: "stowage-node-admin.stowage-system.svc, other.example",
      STOWAGE_NODE_IP: "10.0.0.11",
      STOWAGE_LISTEN_REPLICATION: "0.0.0.0:9810",
    });
    expect(env.STOWAGE_ADMIN_TLS).toBe("0.0.0.0:9809");
    expect(env.STOWAGE_ADMIN_TLS_NAMES).toEqual(["stowage-node-admin.stowage-system.svc", "other.example"]);
    expect(advertiseAddress(env.STOWAGE_NODE_IP ?? "", env.STOWAGE_LISTEN_REPLICATION)).toBe("10.0.0.11:9810");
    expect(advertiseAddress("fd00::7", "[::]:9810")).toBe("[fd00::7]:9810");
    // Empty values are unset, as a Kubernetes env entry with value "" is.
    expect(parseEnv(nodeEnvSchema, { ...nodeBase, STOWAGE_ADMIN_TLS: "", STOWAGE_NODE_IP: "" }).STOWAGE_ADMIN_TLS).toBeUndefined();
  });

  it("refuses bad values naming the field", () => {
    expect(() => parseEnv(nodeEnvSchema, { ...nodeBase, STOWAGE_ADMIN_TLS: "9809" })).toThrow(/STOWAGE_ADMIN_TLS: expected HOST:PORT/);
    expect(() => parseEnv(nodeEnvSchema, { ...nodeBase, STOWAGE_NODE_IP: "node-a.local" })).toThrow(/STOWAGE_NODE_IP: expected an IP address/);
    expect(() => parseEnv(nodeEnvSchema, { ...nodeBase, STOWAGE_NODE_IP: "10.0.0.11" })).toThrow(/STOWAGE_NODE_IP: needs a fixed port in STOWAGE_LISTEN_REPLICATION/);
    expect(() => parseEnv(nodeEnvSchema, { ...nodeBase, STOWAGE_ADMIN_TLS_NAMES: "svc.local" })).toThrow(/STOWAGE_ADMIN_TLS_NAMES: needs STOWAGE_ADMIN_TLS/);
    expect(() => parseEnv(nodeEnvSchema, { ...nodeBase, STOWAGE_ADMIN_TLS: "0.0.0.0:9809", STOWAGE_ADMIN_TLS_NAMES: "Bad_Name" })).toThrow(/STOWAGE_ADMIN_TLS_NAMES\.0: expected DNS names/);
  });
});
