/** `/v1/cluster/...` routes a cluster-mode node adds to its admin endpoint. */
import { z } from "zod";
import { nameSchema } from "../admin/schemas";
import { readAdminJson, type AdminRoute } from "../admin/server";
import { keys, nodeRecordSchema, volumeRecordSchema, type VolumeRecord } from "../consensus/records";
import { NodeError } from "../node/backend";
import type { ClusterNode } from "./cluster-node";
import {
  createClusterVolumeRequestSchema,
  moveReplicaRequestSchema,
  scaleRequestSchema,
  targetStatusSchema,
  type ClusterNodeDto,
  type ClusterVolumeDto,
} from "./schemas";
import { createClusterVolume, deleteClusterVolume, getClusterVolume, moveReplica, scaleVolume } from "./volume-ops";

const controllerRecordSchema = z.object({ id: z.string() });

function volumeParam(value: string | undefined): string {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new NodeError("INVALID", "invalid volume name");
  return parsed.data;
}

/** Asks the target's node for catch-up progress; a status without it is still useful. */
async function remoteTargetStatus(admin: string, id: string): Promise<z.infer<typeof targetStatusSchema> | null> {
  try {
    const res = await fetch(`http://${admin}/v1/cluster/volumes/${encodeURIComponent(id)}/target`, { signal: AbortSignal.timeout(1_000) });
    if (!res.ok) return null;
    const parsed = targetStatusSchema.safeParse(await res.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function describeVolume(node: ClusterNode, v: VolumeRecord): Promise<ClusterVolumeDto> {
  const nodes = new Map((await node.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => [n.value.id, n.value]));
  const targetNode = v.target ? nodes.get(v.target.nodeId) : undefined;
  let ts = v.target?.nodeId === node.nodeId ? node.targetStatus(v.id) : null;
  if (!ts && targetNode?.admin && targetNode.id !== node.nodeId) ts = await remoteTargetStatus(targetNode.admin, v.id);
  const fresh = ts?.epoch === v.epoch ? ts : null;
  return {
    id: v.id,
    sizeBytes: v.spec.sizeBytes,
    replicasWanted: v.spec.replicas,
    epoch: v.epoch,
    target: v.target?.nodeId ?? null,
    ...(targetNode?.nbd ? { nbd: targetNode.nbd } : {}),
    replicas: v.replicas.map((r) => {
      const n = nodes.get(r.nodeId);
      const s = fresh?.replicas.find((x) => x.id === r.id);
      return {
        id: r.id,
        nodeId: r.nodeId,
        ...(n?.labels.zone === undefined ? {} : { zone: n.labels.zone }),
        ...(n?.labels.rack === undefined ? {} : { rack: n.labels.rack }),
        nodeUp: n !== undefined,
        state: r.state,
        inSync: v.inSync.includes(r.id),
        ...(r.replaces === undefined ? {} : { replaces: r.replaces }),
        ...(s ? { mode: s.mode, dirtyBytes: s.dirtyBytes, catchUp: s.catchUp } : {}),
      };
    }),
  };
}

export function clusterRoutes(node: ClusterNode): AdminRoute[] {
  return [
    {
      method: "GET",
      pattern: /^\/v1\/cluster\/nodes$/,
      handler: async () => {
        const controller = await node.store.get(keys.controller, controllerRecordSchema).then((c) => c?.value.id ?? null);
        const items: ClusterNodeDto[] = (await node.store.list(keys.nodesPrefix, nodeRecordSchema)).map(({ value: n }) => ({
          id: n.id,
          address: n.address,
          ...(n.labels.zone === undefined ? {} : { zone: n.labels.zone }),
          ...(n.labels.rack === undefined ? {} : { rack: n.labels.rack }),
          capacityBytes: n.capacityBytes,
          provisionedBytes: n.provisionedBytes,
          ...(n.nbd === undefined ? {} : { nbd: n.nbd }),
          ...(n.admin === undefined ? {} : { admin: n.admin }),
          controller: controller === n.id,
        }));
        return { status: 200, body: { items } };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/cluster\/io-stats$/,
      handler: () => Promise.resolve({ status: 200, body: { items: node.ioSnapshots() } }),
    },
    {
      method: "GET",
      pattern: /^\/v1\/cluster\/volumes$/,
      handler: async () => {
        const records = await node.store.list(keys.volumesPrefix, volumeRecordSchema);
        return { status: 200, body: { items: await Promise.all(records.map((r) => describeVolume(node, r.value))) } };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/cluster\/volumes$/,
      handler: async (req) => {
        const body = createClusterVolumeRequestSchema.parse(await readAdminJson(req));
        const target = body.target ?? node.nodeId;
        const record = await createClusterVolume(node.store, {
          id: body.name,
          sizeBytes: body.size,
          replicas: body.replicas,
          targetNodeId: target,
          ...(body.distinctZones ? { requireDistinctZones: true } : {}),
        });
        if (target === node.nodeId && body.wait !== false) await node.waitAttached(body.name, 15_000);
        return { status: 201, body: await describeVolume(node, record) };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/cluster\/volumes\/([^/]+)$/,
      handler: async (_req, [id]) => ({ status: 200, body: await describeVolume(node, await getClusterVolume(node.store, volumeParam(id))) }),
    },
    {
      method: "GET",
      pattern: /^\/v1\/cluster\/volumes\/([^/]+)\/target$/,
      handler: (_req, [id]) => {
        const ts = node.targetStatus(volumeParam(id));
        if (!ts) throw new NodeError("NOT_FOUND", `this node is not the target of ${id ?? ""}`);
        return Promise.resolve({ status: 200, body: ts });
      },
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/cluster\/volumes\/([^/]+)$/,
      handler: async (_req, [id]) => {
        await deleteClusterVolume(node.store, volumeParam(id));
        return { status: 200, body: { ok: true } };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/cluster\/volumes\/([^/]+)\/move$/,
      handler: async (req, [id]) => {
        const body = moveReplicaRequestSchema.parse(await readAdminJson(req));
        const record = await moveReplica(node.store, volumeParam(id), body.replica, body.to);
        return { status: 200, body: await describeVolume(node, record) };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/cluster\/volumes\/([^/]+)\/scale$/,
      handler: async (req, [id]) => {
        const body = scaleRequestSchema.parse(await readAdminJson(req));
        const record = await scaleVolume(node.store, volumeParam(id), body.replicas);
        return { status: 200, body: await describeVolume(node, record) };
      },
    },
  ];
}
