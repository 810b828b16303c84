import type { KubernetesInventory, KubernetesNode, PoolSample } from "@stowage/agent-protocol";
import { describe, expect, it } from "vitest";
import { batchNodeHours, type BatchNodeHour } from "./batch-node-hours";

const pool = (nodeId: string, at: string): PoolSample => ({ nodeId, at, capacityBytes: 1, allocatedBytes: 0, health: "healthy" });
const node = (name: string, nodeClass: string, ready: boolean, storageNodeId: string | null = null): KubernetesNode => ({ name, nodeClass, ready, storageNodeId });
const kube = (observedAt: string, nodes: KubernetesNode[] | undefined): KubernetesInventory => ({ version: "v1.32.5", observedAt, namespaces: [], storageClasses: [], claims: [], ...(nodes ? { nodes } : {}) });
/** node/class@hour-of-day (index in month) */
const show = (hours: readonly BatchNodeHour[]) => hours.map((h) => `${h.nodeId}/${h.nodeClass}@${new Date(h.hourStartMs).toISOString().slice(8, 13)}(${h.hourIndex})`);

describe("the node-hours a batch reports", () => {
  it("counts a storage node once, under its Kubernetes class, whether it shows in pool samples, as a node, or both", () => {
    const hours = batchNodeHours(
      {
        poolSamples: [pool("engine-a", "2026-12-03T10:00:00.000Z"), pool("engine-a", "2026-12-03T10:40:00.000Z"), pool("engine-b", "2026-12-03T10:40:00.000Z")],
        kubernetes: kube("2026-12-03T10:41:00.000Z", [node("kube-a", "m5.large", true, "engine-a"), node("kube-b", "c6i", false, "engine-b")]),
        meterKubernetes: true,
      },
      Date.parse,
    );
    // engine-b's kubelet is NotReady, but its engine reported: it counts through its samples, with its class.
    expect(show(hours)).toEqual(["engine-a/m5.large@03T10(58)", "engine-b/c6i@03T10(58)"]);
  });

  it("counts a Ready storage-less node under its Kubernetes name in the hour of observedAt, and a NotReady one not at all", () => {
    const hours = batchNodeHours({ poolSamples: [], kubernetes: kube("2026-12-03T11:00:00.000Z", [node("app-1", "", true), node("app-2", "gpu", false)]), meterKubernetes: true }, Date.parse);
    // Exactly 11:00:00.000 belongs to the hour it starts.
    expect(show(hours)).toEqual(["app-1/@03T11(59)"]);
  });

  it("meters pool samples under class \"\" when the section is missing, has no nodes (an older agent) or is too old to meter", () => {
    const samples = [pool("engine-a", "2026-12-01T00:00:00.000Z"), pool("engine-a", "2026-11-30T23:59:59.999Z")];
    const expected = ["engine-a/@01T00(0)", "engine-a/@30T23(719)"];
    expect(show(batchNodeHours({ poolSamples: samples, meterKubernetes: true }, Date.parse))).toEqual(expected);
    expect(show(batchNodeHours({ poolSamples: samples, kubernetes: kube("2026-12-01T00:00:00.000Z", undefined), meterKubernetes: true }, Date.parse))).toEqual(expected);
    const withNodes = kube("2026-12-01T00:00:00.000Z", [node("kube-a", "m5.large", true, "engine-a"), node("app-1", "", true)]);
    expect(show(batchNodeHours({ poolSamples: samples, kubernetes: withNodes, meterKubernetes: false }, Date.parse))).toEqual(expected);
    expect(batchNodeHours({ poolSamples: samples, kubernetes: withNodes, meterKubernetes: true }, Date.parse).map((h) => h.monthStartMs)).toEqual([
      Date.UTC(2026, 11, 1),
      Date.UTC(2026, 10, 1),
      Date.UTC(2026, 11, 1),
    ]);
  });
});
