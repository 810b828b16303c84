/**
 * CSI conformance of the Node service on real block devices (nbdfuse + loop,
 * as root): stage, publish, write through the mount, unpublish, unstage, and
 * find the data again from another node id; file system stats; raw block.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockCap, call, expectStatus, MiB, mountCap, startCsiCluster, type CsiCluster } from "./fixture";

interface Usage {
  unit: string;
  total: string;
  used: string;
  available: string;
}

function nbdfusePids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith("nbdfuse\0");
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("CSI node service on real block devices", () => {
  let c: CsiCluster;
  const node = (id: string) => {
    const n = c.nodes.get(id);
    if (!n) throw new Error(`no node plugin ${id}`);
    return n.node;
  };
  const createAndPublish = async (name: string, nodeId: string, size: number, cap: object, parameters: Record<string, string> = {}) => {
    await call(c.controller, "CreateVolume", { name, capacity_range: { required_bytes: String(size) }, volume_capabilities: [cap], parameters });
    return call<{ publish_context: Record<string, string> }>(c.controller, "ControllerPublishVolume", { volume_id: name, node_id: nodeId, volume_capability: cap });
  };

  beforeAll(async () => {
    c = await startCsiCluster({ nodePlugins: ["n1", "n2"] });
  }, 120_000);
  afterAll(async () => {
    await c.stop();
  }, 60_000);

  it("reports the node id, topology and capabilities", async () => {
    const info = await call<{ node_id: string; max_volumes_per_node: string; accessible_topology: { segments: Record<string, string> } }>(node("n1"), "NodeGetInfo", {});
    expect(info.node_id).toBe("n1");
    expect(Number(info.max_volumes_per_node)).toBeGreaterThan(0);
    expect(info.accessible_topology.segments).toEqual({ "topology.stowage.io/zone": "a", "topology.stowage.io/node": "n1" });
    const caps = await call<{ capabilities: { rpc: { type: string } }[] }>(node("n1"), "NodeGetCapabilities", {});
    expect(caps.capabilities.map((x) => x.rpc.type)).toEqual(expect.arrayContaining(["STAGE_UNSTAGE_VOLUME", "GET_VOLUME_STATS", "EXPAND_VOLUME", "VOLUME_CONDITION"]));
    const ids = await call<{ capabilities: { service?: { type: string } }[] }>(c.nodes.get("n1")?.identity ?? c.controllerIdentity, "GetPluginCapabilities", {});
    expect(ids.capabilities.flatMap((x) => (x.service ? [x.service.type] : []))).not.toContain("CONTROLLER_SERVICE");
  });

  it("refuses requests missing a required field, naming it", async () => {
    await expectStatus(call(node("n1"), "NodeStageVolume", {}), status.INVALID_ARGUMENT, /volume_id is required/);
    await expectStatus(call(node("n1"), "NodeStageVolume", { volume_id: "v", volume_capability: mountCap() }), status.INVALID_ARGUMENT, /staging_target_path is required/);
    await expectStatus(call(node("n1"), "NodeStageVolume", { volume_id: "v", staging_target_path: "/tmp/x" }), status.INVALID_ARGUMENT, /volume_capability is required/);
    await expectStatus(call(node("n1"), "NodeStageVolume", { volume_id: "v", staging_target_path: "/tmp/x", volume_capability: mountCap() }), status.INVALID_ARGUMENT, /publish_context/);
    await expectStatus(call(node("n1"), "NodePublishVolume", { volume_id: "v", staging_target_path: "/tmp/x" }), status.INVALID_ARGUMENT, /target_path is required/);
    await expectStatus(call(node("n1"), "NodeUnpublishVolume", { volume_id: "v" }), status.INVALID_ARGUMENT, /target_path is required/);
    await expectStatus(call(node("n1"), "NodeUnstageVolume", { volume_id: "v" }), status.INVALID_ARGUMENT, /staging_target_path is required/);
    await expectStatus(call(node("n1"), "NodeGetVolumeStats", { volume_id: "v" }), status.INVALID_ARGUMENT, /volume_path is required/);
    await expectStatus(call(node("n1"), "NodeExpandVolume", { volume_path: "/x" }), status.INVALID_ARGUMENT, /volume_id is required/);
    await expectStatus(call(node("n1"), "NodePublishVolume", { volume_id: "v", staging_target_path: "/tmp/x", target_path: "/tmp/y", volume_capability: mountCap() }), status.FAILED_PRECONDITION, /not staged/);
    await expectStatus(call(node("n1"), "NodeGetVolumeStats", { volume_id: "v", volume_path: "/no/such/path" }), status.NOT_FOUND);
  });

  for (const fsType of ["ext4", "xfs"] as const) {
    it(`stages ${fsType}, publishes, keeps data across unstage and a stage on another node, and reports true stats`, async () => {
      const name = `v-${fsType}`;
      const size = fsType === "xfs" ? 320 * MiB : 64 * MiB;
      const cap = mountCap(fsType);
      const pub = await createAndPublish(name, "n1", size, cap);
      const staging = path.join(c.dir, "kubelet", name, "staging");
      const target = path.join(c.dir, "kubelet", name, "pod-1", "mount");
      const stage = { volume_id: name, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap, volume_context: {} };
      await call(node("n1"), "NodeStageVolume", stage);
      await call(node("n1"), "NodeStageVolume", stage);
      await expectStatus(call(node("n1"), "NodeStageVolume", { ...stage, staging_target_path: `${staging}-other` }), status.ALREADY_EXISTS, /already staged/);
      const mounted = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === staging);
      expect(mounted).toContain(` - ${fsType} /dev/loop`);

      const publish = { volume_id: name, staging_target_path: staging, target_path: target, volume_capability: cap };
      await call(node("n1"), "NodePublishVolume", publish);
      await call(node("n1"), "NodePublishVolume", publish);
      await expectStatus(call(node("n1"), "NodePublishVolume", { ...publish, readonly: true }), status.ALREADY_EXISTS);

      type Stats = { usage: Usage[]; volume_condition: { abnormal: boolean } };
      const before = await call<Stats>(node("n1"), "NodeGetVolumeStats", { volume_id: name, volume_path: target });
      const bytes = (s: Stats) => s.usage.find((u) => u.unit === "BYTES");
      const inodes = (s: Stats) => s.usage.find((u) => u.unit === "INODES");
      expect(Number(bytes(before)?.total)).toBeGreaterThan(size / 2);
      expect(Number(bytes(before)?.total)).toBeLessThanOrEqual(size);
      expect(Number(inodes(before)?.total)).toBeGreaterThan(0);
      expect(before.volume_condition.abnormal).toBe(false);

      const data = randomBytes(10 * MiB);
      fs.writeFileSync(path.join(target, "data.bin"), data);
      execFileSync("sync", ["-f", path.join(target, "data.bin")]);
      const after = await call<Stats>(node("n1"), "NodeGetVolumeStats", { volume_id: name, volume_path: target });
      expect(Number(bytes(after)?.used) - Number(bytes(before)?.used)).toBeGreaterThanOrEqual(10 * MiB);
      expect(Number(inodes(after)?.used)).toBeGreaterThan(Number(inodes(before)?.used));

      await call(node("n1"), "NodeUnpublishVolume", { volume_id: name, target_path: target });
      await call(node("n1"), "NodeUnpublishVolume", { volume_id: name, target_path: target });
      expect(fs.existsSync(target)).toBe(false);
      await call(node("n1"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging });
      await call(node("n1"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging });
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(staging);
      await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: "n1" });

      // The other node finds the file system (never reformatted) with the file in it.
      const pub2 = await call<{ publish_context: Record<string, string> }>(c.controller, "ControllerPublishVolume", { volume_id: name, node_id: "n2", volume_capability: cap });
      const staging2 = path.join(c.dir, "kubelet-n2", name, "staging");
      const target2 = path.join(c.dir, "kubelet-n2", name, "pod-2", "mount");
      await call(node("n2"), "NodeStageVolume", { ...stage, publish_context: pub2.publish_context, staging_target_path: staging2 });
      await call(node("n2"), "NodePublishVolume", { ...publish, staging_target_path: staging2, target_path: target2, readonly: true });
      expect(fs.readFileSync(path.join(target2, "data.bin")).equals(data)).toBe(true);
      expect(() => fs.writeFileSync(path.join(target2, "other"), "x")).toThrow(/EROFS|read-only/);
      await call(node("n2"), "NodeUnpublishVolume", { volume_id: name, target_path: target2 });
      await call(node("n2"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging2 });
      await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: "n2" });
      await call(c.controller, "DeleteVolume", { volume_id: name });
    }, 120_000);
  }

  it("expands offline: the controller grows the volume, the next stage sees it and NodeExpandVolume grows the file system", async () => {
    const name = "v-grow";
    const cap = mountCap("ext4");
    const pub = await createAndPublish(name, "n1", 64 * MiB, cap);
    const staging = path.join(c.dir, "kubelet", name, "staging");
    const stage = { volume_id: name, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap };
    await call(node("n1"), "NodeStageVolume", stage);
    fs.writeFileSync(path.join(staging, "keep.txt"), "kept across the expansion");
    const sizeBefore = fs.statfsSync(staging).blocks * fs.statfsSync(staging).bsize;
    const grow = { volume_id: name, capacity_range: { required_bytes: String(128 * MiB) }, volume_capability: cap };
    await expectStatus(call(c.controller, "ControllerExpandVolume", grow), status.FAILED_PRECONDITION, /offline/);
    await call(node("n1"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: "n1" });

    const grown = await call<{ capacity_bytes: string; node_expansion_required: boolean }>(c.controller, "ControllerExpandVolume", grow);
    expect(grown).toEqual({ capacity_bytes: String(128 * MiB), node_expansion_required: true });
    expect(await call(c.controller, "ControllerExpandVolume", grow)).toEqual(grown);
    expect((await call<{ capacity_bytes: string }>(c.controller, "ControllerExpandVolume", { ...grow, volume_capability: blockCap() })).capacity_bytes).toBe(String(128 * MiB));
    await expectStatus(call(c.controller, "ControllerExpandVolume", { volume_id: name }), status.INVALID_ARGUMENT, /capacity_range is required/);
    await expectStatus(call(c.controller, "ControllerExpandVolume", { ...grow, volume_id: "no-such" }), status.NOT_FOUND);

    const pub2 = await call<{ publish_context: Record<string, string> }>(c.controller, "ControllerPublishVolume", { volume_id: name, node_id: "n1", volume_capability: cap });
    await call(node("n1"), "NodeStageVolume", { ...stage, publish_context: pub2.publish_context });
    expect(fs.statfsSync(staging).blocks * fs.statfsSync(staging).bsize).toBe(sizeBefore);
    await expectStatus(call(node("n1"), "NodeExpandVolume", { volume_id: name, volume_path: staging, capacity_range: { required_bytes: String(256 * MiB) } }), status.OUT_OF_RANGE, /offline/);
    const expanded = await call<{ capacity_bytes: string }>(node("n1"), "NodeExpandVolume", { volume_id: name, volume_path: staging, staging_target_path: staging, capacity_range: { required_bytes: String(128 * MiB) } });
    expect(expanded.capacity_bytes).toBe(String(128 * MiB));
    const sizeAfter = fs.statfsSync(staging).blocks * fs.statfsSync(staging).bsize;
    expect(sizeAfter).toBeGreaterThan(sizeBefore + 56 * MiB);
    expect(fs.readFileSync(path.join(staging, "keep.txt"), "utf8")).toBe("kept across the expansion");
    await call(node("n1"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: "n1" });
    await call(c.controller, "DeleteVolume", { volume_id: name });
  }, 120_000);

  it("restores a snapshot and clones a volume with the same bytes, into a bigger file system, leaving the source alone", async () => {
    const cap = mountCap("ext4");
    const stageAt = async (name: string, nodeId: string) => {
      const pub = await call<{ publish_context: Record<string, string> }>(c.controller, "ControllerPublishVolume", { volume_id: name, node_id: nodeId, volume_capability: cap });
      const staging = path.join(c.dir, `kubelet-${nodeId}`, name, "staging");
      await call(node(nodeId), "NodeStageVolume", { volume_id: name, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap });
      return staging;
    };
    const unstage = async (name: string, nodeId: string, staging: string) => {
      await call(node(nodeId), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging });
      await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: nodeId });
    };

    await call(c.controller, "CreateVolume", { name: "v-origin", capacity_range: { required_bytes: String(64 * MiB) }, volume_capabilities: [cap] });
    const origin = await stageAt("v-origin", "n1");
    const data = randomBytes(4 * MiB);
    fs.writeFileSync(path.join(origin, "data.bin"), data);
    execFileSync("sync", ["-f", path.join(origin, "data.bin")]);
    // A snapshot of a mounted volume is crash-consistent: sync first, as a CO's freeze would.
    await call(c.controller, "CreateSnapshot", { source_volume_id: "v-origin", name: "before" });
    fs.writeFileSync(path.join(origin, "data.bin"), "changed after the snapshot");
    execFileSync("sync", ["-f", path.join(origin, "data.bin")]);
    await unstage("v-origin", "n1", origin);

    await call(c.controller, "CreateVolume", {
      name: "v-restore",
      capacity_range: { required_bytes: String(128 * MiB) },
      volume_capabilities: [cap],
      volume_content_source: { snapshot: { snapshot_id: "v-origin/before" } },
    });
    const restored = await stageAt("v-restore", "n2");
    expect(fs.readFileSync(path.join(restored, "data.bin")).equals(data)).toBe(true);
    await call(node("n2"), "NodeExpandVolume", { volume_id: "v-restore", volume_path: restored, staging_target_path: restored, capacity_range: { required_bytes: String(128 * MiB) } });
    expect(fs.statfsSync(restored).blocks * fs.statfsSync(restored).bsize).toBeGreaterThan(100 * MiB);
    fs.writeFileSync(path.join(restored, "only-in-restore"), "x");
    await unstage("v-restore", "n2", restored);

    await call(c.controller, "CreateVolume", { name: "v-copy", capacity_range: { required_bytes: String(64 * MiB) }, volume_capabilities: [cap], volume_content_source: { volume: { volume_id: "v-origin" } } });
    const copy = await stageAt("v-copy", "n1");
    expect(fs.readFileSync(path.join(copy, "data.bin"), "utf8")).toBe("changed after the snapshot");
    expect(fs.existsSync(path.join(copy, "only-in-restore"))).toBe(false);
    await unstage("v-copy", "n1", copy);

    await call(c.controller, "DeleteSnapshot", { snapshot_id: "v-origin/before" });
    for (const v of ["v-copy", "v-restore", "v-origin"]) await call(c.controller, "DeleteVolume", { volume_id: v });
  }, 180_000);

  it("publishes a raw block device at a file, with its size in the stats", async () => {
    const name = "v-block";
    const cap = blockCap();
    const pub = await createAndPublish(name, "n1", 32 * MiB, cap);
    const staging = path.join(c.dir, "kubelet", name, "staging");
    const target = path.join(c.dir, "kubelet", name, "pod", "dev");
    await call(node("n1"), "NodeStageVolume", { volume_id: name, publish_context: pub.publish_context, staging_target_path: staging, volume_capability: cap });
    await call(node("n1"), "NodePublishVolume", { volume_id: name, staging_target_path: staging, target_path: target, volume_capability: cap });
    const block = randomBytes(64 * 1024);
    const fd = fs.openSync(target, "r+");
    try {
      fs.writeSync(fd, block, 0, block.length, 1 * MiB);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const stats = await call<{ usage: Usage[] }>(node("n1"), "NodeGetVolumeStats", { volume_id: name, volume_path: target });
    expect(stats.usage).toEqual([expect.objectContaining({ unit: "BYTES", total: String(32 * MiB) })]);
    await call(node("n1"), "NodeUnpublishVolume", { volume_id: name, target_path: target });
    await call(node("n1"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: "n1" });

    // The bytes went to the engine: read them back through a fresh attach on the other node.
    const pub2 = await call<{ publish_context: Record<string, string> }>(c.controller, "ControllerPublishVolume", { volume_id: name, node_id: "n2", volume_capability: cap });
    const staging2 = path.join(c.dir, "kubelet-n2", name, "staging");
    const target2 = path.join(c.dir, "kubelet-n2", name, "pod", "dev");
    await call(node("n2"), "NodeStageVolume", { volume_id: name, publish_context: pub2.publish_context, staging_target_path: staging2, volume_capability: cap });
    await call(node("n2"), "NodePublishVolume", { volume_id: name, staging_target_path: staging2, target_path: target2, volume_capability: cap });
    const back = Buffer.alloc(block.length);
    const fd2 = fs.openSync(target2, "r");
    try {
      fs.readSync(fd2, back, 0, back.length, 1 * MiB);
    } finally {
      fs.closeSync(fd2);
    }
    expect(back.equals(block)).toBe(true);
    await call(node("n2"), "NodeUnpublishVolume", { volume_id: name, target_path: target2 });
    await call(node("n2"), "NodeUnstageVolume", { volume_id: name, staging_target_path: staging2 });
    await call(c.controller, "ControllerUnpublishVolume", { volume_id: name, node_id: "n2" });
    await call(c.controller, "DeleteVolume", { volume_id: name });
    expect(nbdfusePids()).toEqual([]);
  }, 120_000);
});
