import { describe, expect, it } from "vitest";
import { downNodes, expiredNodes, plan, staleAttachments, STORAGE_NODE_DOWN_REASON, STORAGE_TARGET_MOVED_REASON, trackFirstSeen, type HealthAction, type HealthObservation, type HealthPolicy } from "./plan";
import type { EngineHealthView, PodOnNode, VolumeAttachmentInfo } from "./port";

const policy: HealthPolicy = { gracePeriodMs: 30_000, batchSize: 10 };

/**
 * n2's engine is down. vol-a was served by n2 (lost there), vol-b is served
 * by n1 (still reachable from n2 over NBD), vol-c is served by n2 too.
 */
const view: EngineHealthView = {
  liveNodes: [
    { id: "n1", nbd: "10.0.0.1:10809" },
    { id: "n3", nbd: "10.0.0.3:10809" },
  ],
  volumes: [
    { name: "vol-a", target: "n2", replicaNodes: ["n2", "n3"] },
    { name: "vol-b", target: "n1", replicaNodes: ["n1", "n2"] },
    { name: "vol-c", target: "n2", replicaNodes: ["n2"] },
  ],
};

const va = (name: string, node: string, volume: string | null, extra: Partial<VolumeAttachmentInfo> = {}): VolumeAttachmentInfo => ({ name, attacher: "csi.stowage.io", node, volume, ...extra });
const attachments: VolumeAttachmentInfo[] = [
  va("csi-a", "n2", "vol-a"),
  va("csi-b", "n2", "vol-b"),
  va("csi-c", "n2", "vol-c"),
  va("csi-ebs", "n2", "vol-ebs", { attacher: "ebs.csi.aws.com" }),
  va("csi-a-on-n1", "n1", "vol-a"),
];
const pod = (name: string, stowageVolumes: string[], extra: Partial<PodOnNode> = {}): PodOnNode => ({ namespace: "shop", name, uid: `uid-${name}`, stowageVolumes, forceDeleted: false, ...extra });
const podsOnN2 = [pod("db-0", ["vol-a"]), pod("web-0", []), pod("reader-0", ["vol-b"]), pod("both-0", ["vol-b", "vol-c"])];

function observe(over: Partial<HealthObservation> = {}): HealthObservation {
  return { now: 100_000, engine: view, attachments, downSince: new Map([["n2", 60_000]]), podsByNode: new Map([["n2", podsOnN2]]), ...over };
}

const kinds = (actions: HealthAction[]): string[] =>
  actions.map((a) => (a.kind === "deleteVolumeAttachment" ? `${a.kind} ${a.name}` : `${a.kind} ${a.pod.namespace}/${a.pod.name}`));

describe("downNodes and the grace period", () => {
  it("names nodes with Stowage work that hold no lease, and only those", () => {
    expect(downNodes(view, attachments)).toEqual(["n2"]);
    // A node known only by another driver's attachment is none of our business.
    expect(downNodes(view, [va("x", "n9", "v", { attacher: "ebs.csi.aws.com" })])).toEqual(["n2"]);
    expect(downNodes(view, [va("x", "n9", "v")])).toEqual(["n2", "n9"]);
    expect(downNodes(null, attachments)).toEqual([]);
    expect(downNodes({ liveNodes: [], volumes: view.volumes }, attachments)).toEqual([]);
  });

  it("keeps the first time a node was seen down, and forgets a node that came back", () => {
    const first = trackFirstSeen(new Map(), ["n2"], 1_000);
    const second = trackFirstSeen(first, ["n2", "n4"], 5_000);
    expect([...second]).toEqual([["n2", 1_000], ["n4", 5_000]]);
    expect([...trackFirstSeen(second, ["n4"], 9_000)]).toEqual([["n4", 5_000]]);
  });

  it("acts on a node only once it has been down for the grace period", () => {
    const at = (now: number) => expiredNodes({ now, engine: view, downSince: new Map([["n2", 60_000]]) }, policy);
    expect(at(89_999)).toEqual([]);
    expect(at(90_000)).toEqual(["n2"]);
    expect(plan(observe({ now: 89_999 }), policy)).toEqual([]);
    expect(plan(observe({ now: 90_000 }), policy).length).toBeGreaterThan(0);
    // A node that is back is left alone even if it was down long ago.
    expect(expiredNodes({ now: 999_999, engine: view, downSince: new Map([["n1", 0]]) }, policy)).toEqual([]);
  });
});

describe("plan", () => {
  it("force-deletes, with an event each, the Stowage pods whose data was served by the down node, and deletes those attachments", () => {
    const actions = plan(observe(), policy);
    expect(kinds(actions)).toEqual([
      "recordEvent shop/both-0",
      "forceDeletePod shop/both-0",
      "recordEvent shop/db-0",
      "forceDeletePod shop/db-0",
      "deleteVolumeAttachment csi-a",
      "deleteVolumeAttachment csi-c",
    ]);
    const event = actions.find((a) => a.kind === "recordEvent" && a.pod.name === "db-0");
    expect(event).toMatchObject({ pod: { namespace: "shop", name: "db-0", uid: "uid-db-0" }, event: { type: "Warning", reason: STORAGE_NODE_DOWN_REASON } });
    expect(event?.kind === "recordEvent" ? event.event.message : "").toMatch(/node n2 has been down for 40s and volume vol-a is unreachable/);
    // both-0 lost vol-c only: vol-b is served by n1.
    expect(actions.find((a) => a.kind === "forceDeletePod" && a.pod.name === "both-0")).toMatchObject({ volumes: ["vol-c"] });
  });

  it("never touches pods without Stowage volumes, pods whose volumes are all reachable, other drivers' attachments or other nodes", () => {
    const names = kinds(plan(observe(), policy)).join("\n");
    expect(names).not.toMatch(/web-0|reader-0|csi-b|csi-ebs|csi-a-on-n1/);
  });

  it("judges by the attachment's NBD address when it has one: served by a node that is gone, lost even after failover", () => {
    // vol-b's target moved to n1, but n2's attachment still reads from n2's own NBD server.
    const failedOver = observe({ attachments: [va("csi-b", "n2", "vol-b", { servedFrom: "10.0.0.2:10809" })], podsByNode: new Map([["n2", [pod("reader-0", ["vol-b"])]]]) });
    expect(kinds(plan(failedOver, policy))).toEqual(["recordEvent shop/reader-0", "forceDeletePod shop/reader-0", "deleteVolumeAttachment csi-b"]);
    // vol-a's target is n2, but this attachment reads from n3, which is live.
    const remote = observe({ attachments: [va("csi-a", "n2", "vol-a", { servedFrom: "10.0.0.3:10809" })], podsByNode: new Map([["n2", [pod("db-0", ["vol-a"])]]]) });
    expect(plan(remote, policy)).toEqual([]);
  });

  it("fails safe: no engine answer, or an engine view without a single live node, means no action", () => {
    expect(plan(observe({ engine: null }), policy)).toEqual([]);
    expect(plan(observe({ engine: { liveNodes: [], volumes: view.volumes } }), policy)).toEqual([]);
  });

  it("leaves volumes the engine does not know, and pods already force-deleted, alone", () => {
    const unknown = observe({ attachments: [va("csi-x", "n2", "vol-x"), va("csi-null", "n2", null)], podsByNode: new Map([["n2", [pod("x-0", ["vol-x"]), pod("db-0", ["vol-a"], { forceDeleted: true })]]]) });
    expect(plan(unknown, policy)).toEqual([]);
  });

  it("force-deletes at most a batch of pods per pass, keeping the attachments the waiting pods still use", () => {
    const many = Array.from({ length: 25 }, (_, i) => pod(`p-${String(i).padStart(2, "0")}`, [`vol-${i}`]));
    const volumes = many.map((p, i) => ({ name: `vol-${i}`, target: "n2", replicaNodes: ["n2"] }));
    const vas = many.map((_, i) => va(`va-${String(i).padStart(2, "0")}`, "n2", `vol-${i}`));
    const observed = observe({ engine: { liveNodes: view.liveNodes, volumes }, attachments: vas, podsByNode: new Map([["n2", many]]) });
    const actions = plan(observed, { ...policy, batchSize: 10 });
    const deleted = actions.filter((a) => a.kind === "forceDeletePod").map((a) => (a.kind === "forceDeletePod" ? a.pod.name : ""));
    expect(deleted).toEqual(many.slice(0, 10).map((p) => p.name));
    expect(actions.filter((a) => a.kind === "recordEvent")).toHaveLength(10);
    expect(actions.filter((a) => a.kind === "deleteVolumeAttachment").map((a) => (a.kind === "deleteVolumeAttachment" ? a.name : ""))).toEqual(vas.slice(0, 10).map((v) => v.name));
  });

  it("is idempotent: once its actions are carried out, the next pass plans nothing", () => {
    let observed = observe();
    const actions = plan(observed, policy);
    const gonePods = new Set(actions.flatMap((a) => (a.kind === "forceDeletePod" ? [a.pod.uid] : [])));
    const goneVas = new Set(actions.flatMap((a) => (a.kind === "deleteVolumeAttachment" ? [a.name] : [])));
    observed = {
      ...observed,
      now: observed.now + 10_000,
      attachments: observed.attachments.filter((a) => !goneVas.has(a.name)),
      podsByNode: new Map([["n2", podsOnN2.filter((p) => !gonePods.has(p.uid))]]),
    };
    expect(plan(observed, policy)).toEqual([]);
  });

  it("answers the same observation the same way whatever order things were listed in", () => {
    const shuffled = observe({ attachments: [...attachments].reverse(), podsByNode: new Map([["n2", [...podsOnN2].reverse()]]) });
    expect(plan(shuffled, policy)).toEqual(plan(observe(), policy));
  });
});

describe("attachments reading from a target that moved away", () => {
  /** vol-m's target moved from n1 to n3 while n1 (and the pod reading it there) stayed up. */
  const moved: EngineHealthView = { liveNodes: view.liveNodes, volumes: [{ name: "vol-m", target: "n3", replicaNodes: ["n1", "n3"] }, { name: "vol-s", target: "n1", replicaNodes: ["n1"] }] };
  const onN1 = [va("csi-m", "n1", "vol-m", { servedFrom: "10.0.0.1:10809" }), va("csi-s", "n1", "vol-s", { servedFrom: "10.0.0.1:10809" }), va("csi-unknown", "n1", "vol-m")];
  const pods = new Map([["n1", [pod("app-0", ["vol-m"]), pod("steady-0", ["vol-s"])]]]);
  const at = (now: number, staleSince = new Map([["csi-m", 60_000]])) => plan({ now, engine: moved, attachments: onN1, downSince: new Map(), staleSince, podsByNode: pods }, policy);

  it("names only attachments whose recorded NBD address is no longer their live target's", () => {
    expect(staleAttachments(moved, onN1).map((a) => a.name)).toEqual(["csi-m"]);
    // Without an address the attachment is not judged here; a target with no live node is the down-node rule's.
    expect(staleAttachments({ ...moved, liveNodes: [{ id: "n1", nbd: "10.0.0.1:10809" }] }, onN1)).toEqual([]);
    expect(staleAttachments(null, onN1)).toEqual([]);
  });

  it("after the grace period, deletes the reading pods with an event and then their attachment; before it, nothing", () => {
    expect(at(89_999)).toEqual([]);
    expect(at(100_000, new Map())).toEqual([]);
    const actions = at(90_000);
    expect(kinds(actions)).toEqual(["recordEvent shop/app-0", "forceDeletePod shop/app-0", "deleteVolumeAttachment csi-m"]);
    const event = actions.find((a) => a.kind === "recordEvent");
    const told = event?.kind === "recordEvent" ? event.event : undefined;
    expect(told?.reason).toBe(STORAGE_TARGET_MOVED_REASON);
    expect(told?.message).toContain("vol-m (was read from 10.0.0.1:10809)");
  });

  it("keeps an attachment while a pod using it waits for the next batch", () => {
    const many = new Map([["n1", [pod("app-0", ["vol-m"]), pod("app-1", ["vol-m"])]]]);
    const actions = plan({ now: 100_000, engine: moved, attachments: onN1, downSince: new Map(), staleSince: new Map([["csi-m", 0]]), podsByNode: many }, { ...policy, batchSize: 1 });
    expect(kinds(actions)).toEqual(["recordEvent shop/app-0", "forceDeletePod shop/app-0"]);
  });
});
