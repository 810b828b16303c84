/**
 * The extender's and the health monitor's engine halves against a real engine
 * cluster: a private etcd and three `stowage-engine serve` processes in zones
 * a, b and c on loopback, with a 2 s lease so a killed node is gone quickly.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClusterAdminClient } from "@stowage/engine";
import { pollUntil } from "@stowage/testing/poll";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineHealthView } from "../health/engine-view";
import { plan } from "../health/plan";
import type { EngineNodeService } from "../local/processes";
import { startEngineCluster, type EngineCluster } from "../../test/support/engine-cluster";
import { EngineStorageTopologySource } from "./engine-topology";
import type { ExtenderPod } from "./extender-api";
import { filterNodes, prioritizeNodes, type PlacementInput } from "./placement";

// "error": the killed node's exit is meant, and the supervisor warns of every exit it did not cause.
const log = pino({ level: "error" });
const ids = ["n1", "n2", "n3"];

/** A pod in namespace "shop" with one claim, bound to the engine volume "pvc-int". */
const pod: ExtenderPod = { metadata: { name: "db-0", namespace: "shop" }, spec: { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-db-0" } }] } };
const resolveClaim = (namespace: string, claim: string): Promise<string | null> => Promise.resolve(namespace === "shop" && claim === "data-db-0" ? "pvc-int" : null);

describe("storage topology from a real engine cluster", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-topology-int-"));
  let cluster: EngineCluster | undefined;
  let nodes: EngineNodeService[] = [];
  let admin: ClusterAdminClient;
  let source: EngineStorageTopologySource;

  const placement = async (): Promise<PlacementInput> => {
    const volumes = await source.podVolumes(pod);
    return { candidates: [...ids, "k8s-only"], needs: { kind: "stowage", volumes }, topology: await source.topology(volumes) };
  };

  beforeAll(async () => {
    cluster = await startEngineCluster({ dir, log, ids, capacity: "1GiB" });
    nodes = cluster.nodes;
    admin = cluster.admin();
    // No cache: the test asks again right after a node dies.
    source = new EngineStorageTopologySource(admin, resolveClaim, { cacheMs: 0 });
    await pollUntil(async () => ((await admin.nodes()).length === 3 ? true : undefined), { what: "three live engine nodes", timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("ranks a 2-replica volume's target first, its other replica holder next, and filters nodes without an engine", async () => {
    await admin.createVolume({ name: "pvc-int", size: 16 * 1024 * 1024, replicas: 2, target: "n1" });
    const volume = await pollUntil(
      async () => {
        const v = await admin.volume("pvc-int");
        return v !== null && v.replicas.length === 2 ? v : undefined;
      },
      { what: "pvc-int with two replicas", timeoutMs: 30_000 },
    );
    const holders = volume.replicas.map((r) => r.nodeId).sort();
    const other = ids.find((id) => !holders.includes(id)) ?? "";
    expect(holders).toContain("n1");

    const input = await placement();
    expect(input.needs).toEqual({ kind: "stowage", volumes: ["pvc-int"] });
    const scores = Object.fromEntries(prioritizeNodes(input).map((p) => [p.host, p.score]));
    const secondHolder = holders.find((h) => h !== "n1") ?? "";
    expect(scores.n1).toBe(10);
    expect(scores[secondHolder]).toBeGreaterThan(scores[other] ?? 0);
    expect(scores[other]).toBeGreaterThan(0);
    expect(scores["k8s-only"]).toBe(0);
    expect(filterNodes(input)).toMatchObject({ passing: ids, failed: { "k8s-only": expect.stringMatching(/no Stowage storage engine/) as unknown } });
  }, 60_000);

  it("filters out, and scores 0, a node whose engine was killed; the health plan evicts the pod that read from it", async () => {
    const before = await admin.volume("pvc-int");
    const servedFrom = before?.nbd;
    expect(servedFrom).toBeDefined();
    const n1 = nodes[0];
    n1?.kill();
    await pollUntil(async () => ((await admin.nodes()).every((n) => n.id !== "n1") ? true : undefined), { what: "n1's lease to expire", timeoutMs: 30_000 });

    const input = await placement();
    const decision = filterNodes(input);
    expect(decision.passing).not.toContain("n1");
    expect(decision.failed.n1).toMatch(/engine on node n1 is down/);
    expect(prioritizeNodes(input).find((p) => p.host === "n1")?.score).toBe(0);

    // The monitor's engine half sees n1 down; a pod on n1 reading pvc-int through n1's NBD server must move.
    const view = await engineHealthView(admin);
    expect(view.liveNodes.map((n) => n.id).sort()).toEqual(["n2", "n3"]);
    const actions = plan(
      {
        now: 60_000,
        engine: view,
        attachments: [{ name: "csi-pvc-int-n1", attacher: "csi.stowage.io", node: "n1", volume: "pvc-int", ...(servedFrom === undefined ? {} : { servedFrom }) }],
        downSince: new Map([["n1", 0]]),
        podsByNode: new Map([["n1", [{ namespace: "shop", name: "db-0", uid: "u1", stowageVolumes: ["pvc-int"], forceDeleted: false }]]]),
      },
      { gracePeriodMs: 30_000, batchSize: 10 },
    );
    expect(actions.map((a) => a.kind)).toEqual(["recordEvent", "forceDeletePod", "deleteVolumeAttachment"]);

    // Once the engine fails the volume over to its other replica, a pod on n1 attached through the
    // new target's NBD server still reaches its data: the plan leaves it alone.
    const moved = await pollUntil(
      async () => {
        const v = await admin.volume("pvc-int");
        return v !== null && v.target !== null && v.target !== "n1" && v.nbd !== undefined ? v : undefined;
      },
      { what: "pvc-int failed over off n1", timeoutMs: 30_000 },
    );
    const reachable = plan(
      {
        now: 60_000,
        engine: await engineHealthView(admin),
        attachments: [{ name: "csi-pvc-int-n1", attacher: "csi.stowage.io", node: "n1", volume: "pvc-int", ...(moved.nbd === undefined ? {} : { servedFrom: moved.nbd }) }],
        downSince: new Map([["n1", 0]]),
        podsByNode: new Map([["n1", [{ namespace: "shop", name: "db-0", uid: "u1", stowageVolumes: ["pvc-int"], forceDeleted: false }]]]),
      },
      { gracePeriodMs: 30_000, batchSize: 10 },
    );
    expect(reachable).toEqual([]);
  }, 60_000);
});
