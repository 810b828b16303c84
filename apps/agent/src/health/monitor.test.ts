import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { StorageHealthMonitor } from "./monitor";
import type { EngineHealthView, HealthMonitorPort, PodEvent, PodOnNode, PodRef, VolumeAttachmentInfo } from "./port";

/** A cluster in memory, answering like the Kubernetes API and the engine would. */
class MemoryCluster implements HealthMonitorPort {
  engine: EngineHealthView | Error;
  attachments: VolumeAttachmentInfo[];
  pods: (PodOnNode & { node: string })[];
  readonly events: { pod: PodRef; event: PodEvent }[] = [];
  readonly deletedPods: string[] = [];
  /** Names of pods whose deletion the API refuses. */
  readonly refuseDelete = new Set<string>();

  constructor(podsOnN2: number) {
    const volumes = Array.from({ length: podsOnN2 }, (_, i) => `vol-${i}`);
    this.engine = { liveNodes: [{ id: "n1" }, { id: "n3" }], volumes: volumes.map((name) => ({ name, target: "n2", replicaNodes: ["n2", "n3"] })) };
    this.attachments = [...volumes.map((v, i) => ({ name: `va-${i}`, attacher: "csi.stowage.io", node: "n2", volume: v })), { name: "va-other", attacher: "nfs.csi.k8s.io", node: "n2", volume: "share" }];
    this.pods = [
      ...volumes.map((v, i) => ({ namespace: "apps", name: `app-${String(i).padStart(2, "0")}`, uid: `u${i}`, node: "n2", stowageVolumes: [v], forceDeleted: false })),
      { namespace: "apps", name: "plain", uid: "up", node: "n2", stowageVolumes: [], forceDeleted: false },
      { namespace: "apps", name: "elsewhere", uid: "ue", node: "n1", stowageVolumes: ["vol-0"], forceDeleted: false },
    ];
  }

  engineView(): Promise<EngineHealthView> {
    return this.engine instanceof Error ? Promise.reject(this.engine) : Promise.resolve(structuredClone(this.engine));
  }
  listVolumeAttachments(): Promise<VolumeAttachmentInfo[]> {
    return Promise.resolve(this.attachments.map((a) => ({ ...a })));
  }
  listPodsOnNode(node: string): Promise<PodOnNode[]> {
    return Promise.resolve(this.pods.filter((p) => p.node === node).map(({ node: _node, ...p }) => ({ ...p, stowageVolumes: [...p.stowageVolumes] })));
  }
  deleteVolumeAttachment(name: string): Promise<void> {
    this.attachments = this.attachments.filter((a) => a.name !== name);
    return Promise.resolve();
  }
  forceDeletePod(pod: PodRef): Promise<void> {
    if (this.refuseDelete.has(pod.name)) return Promise.reject(new Error(`pods "${pod.name}" is forbidden`));
    this.pods = this.pods.filter((p) => p.uid !== pod.uid);
    this.deletedPods.push(pod.name);
    return Promise.resolve();
  }
  recordEvent(pod: PodRef, event: PodEvent): Promise<void> {
    this.events.push({ pod, event });
    return Promise.resolve();
  }
}

const log = pino({ level: "silent" });

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

function setup(pods: number, options: { batchSize?: number } = {}) {
  const cluster = new MemoryCluster(pods);
  const registry = new Registry();
  let now = 1_000_000;
  const monitor = new StorageHealthMonitor({ port: cluster, log, metrics: { registry }, gracePeriodMs: 30_000, now: () => now, ...options });
  return { cluster, registry, monitor, advance: (ms: number) => (now += ms) };
}

describe("StorageHealthMonitor", () => {
  it("waits out the grace period, then evicts the Stowage pods of the down node in batches, with an event each, until nothing is left", async () => {
    const { cluster, registry, monitor, advance } = setup(12, { batchSize: 5 });
    const first = await monitor.pass();
    expect(first).toMatchObject({ kind: "ran", down: ["n2"], expired: [], outcomes: [] });
    advance(29_999);
    expect(await monitor.pass()).toMatchObject({ kind: "ran", expired: [], outcomes: [] });
    advance(1);

    const evictedPerPass: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = cluster.deletedPods.length;
      await monitor.pass();
      evictedPerPass.push(cluster.deletedPods.length - before);
      advance(10_000);
    }
    expect(evictedPerPass).toEqual([5, 5, 2, 0, 0]);
    expect(cluster.deletedPods.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `app-${String(i).padStart(2, "0")}`));
    expect(cluster.pods.map((p) => p.name).sort()).toEqual(["elsewhere", "plain"]);
    expect(cluster.attachments.map((a) => a.name)).toEqual(["va-other"]);
    expect(cluster.events).toHaveLength(12);
    expect(cluster.events.every((e) => e.event.reason === "StorageNodeDown" && /node n2/.test(e.event.message))).toBe(true);
    expect(cluster.events.find((e) => e.pod.name === "app-03")?.event.message).toMatch(/vol-3/);
    expect(await counter(registry, "stowage_health_pods_evicted_total")).toBe(12);
    expect(await counter(registry, "stowage_health_volume_attachments_deleted_total")).toBe(12);
  });

  it("does nothing while the engine does not answer or sees no live node, and counts why", async () => {
    const { cluster, registry, monitor, advance } = setup(2);
    await monitor.pass();
    advance(60_000);
    cluster.engine = new Error("connect ECONNREFUSED 10.0.0.1:9809");
    expect(await monitor.pass()).toMatchObject({ kind: "skipped", why: "engine-unavailable", error: /ECONNREFUSED/ });
    cluster.engine = { liveNodes: [], volumes: [] };
    expect(await monitor.pass()).toMatchObject({ kind: "skipped", why: "no-live-engine-nodes" });
    expect(cluster.deletedPods).toEqual([]);
    expect(cluster.events).toEqual([]);
    expect(await counter(registry, "stowage_health_passes_total", { result: "engine-unavailable" })).toBe(1);
    expect(await counter(registry, "stowage_health_passes_total", { result: "no-live-engine-nodes" })).toBe(1);
  });

  it("forgets a node whose engine came back, so a later outage waits out a full grace period again", async () => {
    const { cluster, monitor, advance } = setup(1);
    const down = cluster.engine instanceof Error ? { liveNodes: [], volumes: [] } : structuredClone(cluster.engine);
    await monitor.pass();
    advance(20_000);
    cluster.engine = { ...down, liveNodes: [...down.liveNodes, { id: "n2" }] };
    expect(await monitor.pass()).toMatchObject({ down: [] });
    advance(20_000);
    cluster.engine = down;
    expect(await monitor.pass()).toMatchObject({ down: ["n2"], expired: [] });
    expect(cluster.deletedPods).toEqual([]);
  });

  it("carries on past an action the API refuses, counts it, and retries it on the next pass", async () => {
    const { cluster, registry, monitor, advance } = setup(2);
    cluster.refuseDelete.add("app-00");
    await monitor.pass();
    advance(30_000);
    const report = await monitor.pass();
    expect(report.kind === "ran" ? report.outcomes.filter((o) => o.error !== undefined).map((o) => o.action.kind) : []).toEqual(["forceDeletePod"]);
    expect(cluster.deletedPods).toEqual(["app-01"]);
    expect(await counter(registry, "stowage_health_action_failures_total", { kind: "forceDeletePod" })).toBe(1);
    cluster.refuseDelete.clear();
    await monitor.pass();
    expect(cluster.deletedPods).toEqual(["app-01", "app-00"]);
  });

  it("never runs two passes at once, and stop() waits for the one running", async () => {
    const { cluster, monitor } = setup(1);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    const view = cluster.engineView.bind(cluster);
    cluster.engineView = async () => {
      asked++;
      await gate;
      return view();
    };
    const a = monitor.pass();
    const b = monitor.pass();
    let stopped = false;
    const stopping = monitor.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    release();
    expect(await a).toBe(await b);
    await stopping;
    expect(asked).toBe(1);
  });

  it("runs passes on its interval between start and stop", async () => {
    const cluster = new MemoryCluster(1);
    const registry = new Registry();
    const monitor = new StorageHealthMonitor({ port: cluster, log, metrics: { registry }, gracePeriodMs: 0, intervalMs: 20 });
    await monitor.start();
    await pollUntil(async () => ((await counter(registry, "stowage_health_passes_total", { result: "idle" })) >= 2 ? true : undefined), { what: "passes after the eviction", timeoutMs: 10_000 });
    await monitor.stop();
    expect(cluster.deletedPods).toEqual(["app-00"]);
  });
  it("moves a pod off a target that moved while its node stayed up: after the grace period, and only the pods reading there", async () => {
    const { cluster, monitor, advance } = setup(2);
    // Every node is up; vol-0's target moved from n2 to n3, vol-1 is still read where it is served.
    cluster.engine = {
      liveNodes: [{ id: "n1", nbd: "n1:10809" }, { id: "n2", nbd: "n2:10809" }, { id: "n3", nbd: "n3:10809" }],
      volumes: [{ name: "vol-0", target: "n3", replicaNodes: ["n2", "n3"] }, { name: "vol-1", target: "n2", replicaNodes: ["n2", "n3"] }],
    };
    cluster.attachments = cluster.attachments.map((a) => ({ ...a, servedFrom: "n2:10809" }));
    expect(await monitor.pass()).toMatchObject({ kind: "ran", down: [], stale: ["va-0"], outcomes: [] });
    advance(30_000);
    const acted = await monitor.pass();
    expect(acted.kind === "ran" ? acted.outcomes.map((o) => o.action.kind) : []).toEqual(["recordEvent", "forceDeletePod", "deleteVolumeAttachment"]);
    expect(cluster.deletedPods).toEqual(["app-00"]);
    expect(cluster.events.map((e) => e.event.reason)).toEqual(["StorageTargetMoved"]);
    expect(cluster.attachments.map((a) => a.name).sort()).toEqual(["va-1", "va-other"]);
    // The attachment made again at the new target is not stale: nothing more happens.
    cluster.attachments.push({ name: "va-0b", attacher: "csi.stowage.io", node: "n2", volume: "vol-0", servedFrom: "n3:10809" });
    advance(60_000);
    expect(await monitor.pass()).toMatchObject({ kind: "ran", stale: [], outcomes: [] });
  });
});
