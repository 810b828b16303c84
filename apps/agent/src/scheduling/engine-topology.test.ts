import type { ClusterNodeDto, ClusterVolumeDto } from "@stowage/engine";
import { describe, expect, it } from "vitest";
import { EngineStorageTopologySource, type EngineTopologyAdmin } from "./engine-topology";
import type { ExtenderPod } from "./extender-api";

const liveNode = (id: string, zone: string, rack?: string): ClusterNodeDto => ({ id, address: `${id}:9810`, zone, ...(rack === undefined ? {} : { rack }), capacityBytes: 1, provisionedBytes: 0, controller: false });
const replica = (nodeId: string, zone: string, nodeUp: boolean, rack?: string): ClusterVolumeDto["replicas"][number] => ({ id: `r-${nodeId}`, nodeId, zone, ...(rack === undefined ? {} : { rack }), nodeUp, state: "healthy", inSync: nodeUp });
const volume = (id: string, target: string | null, replicas: ClusterVolumeDto["replicas"]): Pick<ClusterVolumeDto, "id" | "target" | "replicas"> => ({ id, target, replicas });

/** n1 and n2 live; n3 lost its lease but still holds a replica of vol-1; n4 was vol-2's target. */
class FakeAdmin implements EngineTopologyAdmin {
  calls = 0;
  failing = false;
  nodes(): Promise<ClusterNodeDto[]> {
    this.calls++;
    if (this.failing) return Promise.reject(new Error("no engine node answered"));
    return Promise.resolve([liveNode("n1", "a", "r1"), liveNode("n2", "b")]);
  }
  volumes(): Promise<Pick<ClusterVolumeDto, "id" | "target" | "replicas">[]> {
    return Promise.resolve([volume("vol-1", "n1", [replica("n1", "a", true, "r1"), replica("n3", "c", false, "r7")]), volume("vol-2", "n4", [replica("n2", "b", true)])]);
  }
}

const pod: ExtenderPod = {
  metadata: { name: "web-0", namespace: "shop" },
  spec: { volumes: [{ name: "a", persistentVolumeClaim: { claimName: "a" } }, { name: "b", persistentVolumeClaim: { claimName: "b" } }, { name: "c", persistentVolumeClaim: { claimName: "a" } }, { name: "tmp", ephemeral: {} }] },
};

describe("EngineStorageTopologySource", () => {
  it("resolves a pod's claims, generic ephemeral ones included, to engine volumes once each", async () => {
    const asked: string[] = [];
    const source = new EngineStorageTopologySource(new FakeAdmin(), (ns, claim) => {
      asked.push(`${ns}/${claim}`);
      return Promise.resolve({ a: "vol-1", b: null, "web-0-tmp": "vol-2" }[claim] ?? null);
    });
    expect(await source.podVolumes(pod)).toEqual(["vol-1", "vol-2"]);
    expect(asked.sort()).toEqual(["shop/a", "shop/b", "shop/web-0-tmp"]);
  });

  it("lists live nodes as up and nodes known only by their replicas or volumes as down, with the asked volumes' placement", async () => {
    const source = new EngineStorageTopologySource(new FakeAdmin(), () => Promise.resolve(null), { cordonedNodes: () => Promise.resolve(new Set(["n2"])) });
    const t = await source.topology(["vol-1"]);
    expect(t.nodes).toEqual([
      { id: "n1", up: true, zone: "a", rack: "r1", cordoned: false },
      { id: "n2", up: true, zone: "b", cordoned: true },
      { id: "n3", up: false, zone: "c", rack: "r7", cordoned: false },
      { id: "n4", up: false, cordoned: false },
    ]);
    expect(t.volumes).toEqual([{ name: "vol-1", target: "n1", replicas: [{ nodeId: "n1", zone: "a", rack: "r1" }, { nodeId: "n3", zone: "c", rack: "r7" }] }]);
  });

  it("shares one engine answer between requests within cacheMs, and never keeps a failed one", async () => {
    const admin = new FakeAdmin();
    let now = 0;
    const source = new EngineStorageTopologySource(admin, () => Promise.resolve(null), { cacheMs: 2_000, now: () => now });
    await Promise.all([source.topology(["vol-1"]), source.topology(["vol-2"])]);
    now = 1_999;
    await source.topology(["vol-1"]);
    expect(admin.calls).toBe(1);
    now = 2_000;
    admin.failing = true;
    await expect(source.topology(["vol-1"])).rejects.toThrow(/no engine node answered/);
    admin.failing = false;
    expect((await source.topology(["vol-1"])).nodes).toHaveLength(4);
    expect(admin.calls).toBe(3);
  });

  it("asks the engine again within cacheMs when an asked volume is not in the cached answer (a volume created a moment ago)", async () => {
    const admin = new FakeAdmin();
    const source = new EngineStorageTopologySource(admin, () => Promise.resolve(null), { cacheMs: 60_000, now: () => 0 });
    await source.topology(["vol-1"]);
    const fresh = await source.topology(["vol-9"]);
    expect(admin.calls).toBe(2);
    expect(fresh.volumes).toEqual([]);
    await source.topology(["vol-2"]);
    expect(admin.calls).toBe(2);
  });
});
