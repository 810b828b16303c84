/**
 * Agent-side helpers for tests: a registered cluster with its credential,
 * telemetry batches built like the agent builds them, and calls of the
 * agent API through the real handler.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  registerResponseSchema,
  type Inventory,
  type KubernetesClaim,
  type KubernetesInventory,
  type PoolSample,
  type TelemetryBatch,
  type VolumeSample,
} from "@stowage/agent-protocol";
import type { ReplicaState } from "@stowage/vocabulary";
import { systemActor } from "../actor";
import type { Api } from "../api";
import { BASE_URL } from "./fixtures";

export interface TestCluster {
  clusterId: string;
  organizationId: string;
  credential: string;
  name: string;
}

let seq = 0;

export async function registerCluster(api: Api, organizationId: string, name = `cl-${++seq}-${randomUUID().slice(0, 6)}`): Promise<TestCluster> {
  const join = await api.services.cluster.create({ organizationId, role: "owner", actor: systemActor("tests") }, { name });
  const res = await api.handlers.agent(
    new Request(`${BASE_URL}/api/agent/v1/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, joinToken: join.joinToken, agentVersion: "0.1.0", instanceId: randomUUID() }),
    }),
  );
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = registerResponseSchema.parse(await res.json());
  return { clusterId: body.clusterId, organizationId, credential: body.credential, name };
}

export function agentRequest(path: string, init: { method?: string; credential?: string | null; headers?: Record<string, string>; body?: string | Uint8Array | null } = {}): Request {
  const headers: Record<string, string> = { ...init.headers };
  if (init.credential) headers.authorization = `Bearer ${init.credential}`;
  return new Request(`${BASE_URL}/api/agent/v1${path}`, { method: init.method ?? "GET", headers, body: init.body ?? null });
}

export function sendBatch(api: Api, credential: string | null, batch: TelemetryBatch | string, opts: { gzip?: boolean } = {}): Promise<Response> {
  const text = typeof batch === "string" ? batch : JSON.stringify(batch);
  const gz = opts.gzip ?? true;
  return api.handlers.agent(
    agentRequest("/telemetry", {
      method: "POST",
      credential,
      headers: { "content-type": "application/json", ...(gz ? { "content-encoding": "gzip" } : {}) },
      body: gz ? gzipSync(text) : text,
    }),
  );
}

export function inventory(opts: { nodes?: number; volumes?: number; zones?: string[]; nodeDown?: string[]; replicaState?: Record<string, ReplicaState> } = {}): Inventory {
  const zones = opts.zones ?? ["a", "b", "c"];
  const nodeIds = Array.from({ length: opts.nodes ?? 3 }, (_, i) => `node-${i}`);
  const volIds = Array.from({ length: opts.volumes ?? 2 }, (_, i) => `vol-${i}`);
  return {
    nodes: nodeIds.map((id, i) => ({
      id,
      name: id,
      zone: zones[i % zones.length] ?? null,
      rack: `r${i}`,
      status: opts.nodeDown?.includes(id) ? "down" : "up",
      pool: { capacityBytes: 1000, allocatedBytes: 100, provisionedBytes: 200, health: "healthy" },
    })),
    volumes: volIds.map((id) => ({ id, name: `pvc-${id}`, sizeBytes: 1 << 30, replicaCount: 2, encrypted: false, targetNodeId: nodeIds[0] ?? null, state: "healthy" })),
    replicas: volIds.flatMap((v) =>
      [0, 1].map((k) => {
        const id = `${v}-r${k}`;
        return { id, volumeId: v, nodeId: nodeIds[k % nodeIds.length] ?? "node-0", state: opts.replicaState?.[id] ?? "healthy", progress: null };
      }),
    ),
    snapshots: volIds.map((v) => ({ id: `${v}-s0`, volumeId: v, name: `${v}-daily`, createdAt: "2026-01-01T00:00:00.000Z" })),
  };
}

/**
 * A PersistentVolumeClaim bound to engine volume `volumeId` (its PV named
 * after the claim, as the external provisioner names them), used by one
 * ready pod of a StatefulSet named after the claim.
 */
export function kubernetesClaim(namespace: string, name: string, volumeId: string | null, parts: Partial<KubernetesClaim> = {}): KubernetesClaim {
  const uid = `uid-${namespace}-${name}`;
  return {
    uid,
    namespace,
    name,
    storageClass: "stowage",
    phase: volumeId === null ? "Pending" : "Bound",
    requestedBytes: 1 << 30,
    capacityBytes: volumeId === null ? null : 1 << 30,
    accessModes: ["ReadWriteOnce"],
    volumeMode: "Filesystem",
    persistentVolume: volumeId,
    volumeId,
    pods: [{ name: `${name}-0`, node: "node-0", phase: "Running", ready: true }],
    owners: [{ kind: "StatefulSet", name }],
    ...parts,
  };
}

/** The Kubernetes side of a cluster: namespaces `default` and `shop`, the Stowage storage class (default), and `claims`. */
export function kubernetesInventory(observedAt: Date, claims: KubernetesClaim[], parts: Partial<KubernetesInventory> = {}): KubernetesInventory {
  return {
    version: "v1.32.5",
    observedAt: observedAt.toISOString(),
    namespaces: [
      { name: "default", phase: "Active", createdAt: "2026-01-01T00:00:00.000Z" },
      { name: "shop", phase: "Active", createdAt: "2026-02-01T00:00:00.000Z" },
    ],
    storageClasses: [
      {
        name: "stowage",
        provisioner: "csi.stowage.io",
        parameters: { replicas: "3", zoneSpread: "true" },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        isDefault: true,
      },
    ],
    claims,
    ...parts,
  };
}

export function volumeSample(volumeId: string, at: Date, v: Partial<Omit<VolumeSample, "volumeId" | "at">> = {}): VolumeSample {
  return {
    volumeId,
    at: at.toISOString(),
    readIops: 100,
    writeIops: 50,
    readBytesPerSec: 4096 * 100,
    writeBytesPerSec: 4096 * 50,
    latencyP50Us: 200,
    latencyP99Us: 900,
    usedBytes: 1 << 20,
    ioErrors: 0,
    ...v,
  };
}

export function poolSample(nodeId: string, at: Date, capacityBytes = 1000, allocatedBytes = 100): PoolSample {
  return { nodeId, at: at.toISOString(), capacityBytes, allocatedBytes, health: "healthy" };
}

export function batch(parts: Partial<TelemetryBatch> = {}): TelemetryBatch {
  return {
    protocolVersion: 1,
    batchId: randomUUID(),
    sequence: ++seq,
    sentAt: new Date().toISOString(),
    droppedBatches: 0,
    inventory: null,
    volumeSamples: [],
    poolSamples: [],
    ...parts,
  };
}

/** A settable clock for createTestApi({ now }). */
export function testClock(start = new Date()) {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    set: (d: Date) => {
      t = d.getTime();
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}
