import { describe, expect, it } from "vitest";
import { NAME_CASES } from "./name-cases";
import {
  clusterNameSchema,
  defaultSnapshotName,
  isDnsLabel,
  isDnsSubdomain,
  isValidReplicaId,
  isValidSnapshotName,
  isValidVolumeName,
  nodeNameSchema,
  snapshotNameSchema,
  volumeNameSchema,
} from "./names";

describe("volume and snapshot names", () => {
  it.each(NAME_CASES)("$why: valid=$valid", ({ name, valid }) => {
    expect(isValidVolumeName(name)).toBe(valid);
    expect(isValidSnapshotName(name)).toBe(valid);
    expect(volumeNameSchema.safeParse(name).success).toBe(valid);
    expect(snapshotNameSchema.safeParse(name).success).toBe(valid);
  });

  it("refuses with one issue that says what to type", () => {
    const r = snapshotNameSchema.safeParse("x".repeat(64));
    expect(r.error?.issues).toHaveLength(1);
    expect(r.error?.issues[0]?.message).toMatch(/1-63 lowercase letters/);
  });
});

describe("replica ids", () => {
  it("are a valid volume name, '-' and 8 hex digits", () => {
    expect(isValidReplicaId(`${"v".repeat(63)}-0123abcd`)).toBe(true);
    expect(isValidReplicaId("orders-db-0123abcd")).toBe(true);
    expect(isValidReplicaId(`${"v".repeat(64)}-0123abcd`)).toBe(false);
    expect(isValidReplicaId("orders-db")).toBe(false);
    expect(isValidReplicaId("Orders-0123abcd")).toBe(false);
    expect(isValidReplicaId("-0123abcd")).toBe(false);
  });
});

describe("defaultSnapshotName", () => {
  const at = new Date("2026-12-04T05:06:07.000Z");

  it("is the volume's name and a UTC stamp", () => {
    expect(defaultSnapshotName("orders-db", at)).toBe("orders-db-20261204-050607");
  });

  it("shortens the volume part so the stamp fits in 63 characters", () => {
    const name = defaultSnapshotName("v".repeat(63), at);
    expect(name).toBe(`${"v".repeat(47)}-20261204-050607`);
    expect(name).toHaveLength(63);
  });

  it("never leaves a '-' or '.' where the volume part was cut", () => {
    expect(defaultSnapshotName(`${"v".repeat(46)}-rest`, at)).toBe(`${"v".repeat(46)}-20261204-050607`);
    expect(defaultSnapshotName(`${"v".repeat(45)}..rest`, at)).toBe(`${"v".repeat(45)}-20261204-050607`);
  });

  it("is valid for any volume name, even one no rule allows", () => {
    for (const volume of ["Orders_DB", "-", "", "ü", "a".repeat(300), "x.-.-y", "UPPER"]) {
      expect(isValidSnapshotName(defaultSnapshotName(volume, at)), volume).toBe(true);
    }
    expect(defaultSnapshotName("Orders_DB", at)).toBe("orders-db-20261204-050607");
    expect(defaultSnapshotName("__", at)).toBe("snapshot-20261204-050607");
  });
});

describe("Kubernetes-facing names", () => {
  it("takes DNS-1123 labels for clusters and namespaces", () => {
    expect(isDnsLabel("prod-east")).toBe(true);
    expect(isDnsLabel("a".repeat(63))).toBe(true);
    expect(isDnsLabel("a".repeat(64))).toBe(false);
    expect(isDnsLabel("prod.east")).toBe(false);
    expect(clusterNameSchema.safeParse("Prod").success).toBe(false);
  });

  it("takes DNS-1123 subdomains up to 253 characters for nodes", () => {
    expect(isDnsSubdomain("ip-10-0-0-1.eu-west-1.compute.internal")).toBe(true);
    expect(isDnsSubdomain("node..a")).toBe(false);
    expect(isDnsSubdomain("node.-a")).toBe(false);
    const long = Array.from({ length: 4 }, () => "a".repeat(63)).join(".");
    expect(long).toHaveLength(255);
    expect(isDnsSubdomain(long.slice(0, 253))).toBe(true);
    expect(nodeNameSchema.safeParse(long).success).toBe(false);
    expect(nodeNameSchema.safeParse("Node-1").success).toBe(false);
  });
});
