/**
 * `/v1/cluster/...` routes a cluster-mode node adds to its admin endpoint.
 * They reach the node only through ClusterAdminOperations (admin-operations.ts).
 */
import type http from "node:http";
import { z } from "zod";
import { adminApi, routeMatcher, routePath } from "../admin/api";
import { nameSchema } from "../admin/schemas";
import { readAdminJson, type AdminRoute } from "../admin/server";
import { keys, nodeRecordSchema, volumeRecordSchema, type VolumeRecord } from "../consensus/records";
import { EngineError } from "../errors";
import type { ClusterAdminOperations } from "./admin-operations";
import { groupSnapshotRoutes } from "./group-snapshot-routes";
import { snapshotView } from "./snapshots";
import {
  createClusterSnapshotRequestSchema,
  createClusterVolumeRequestSchema,
  expandClusterVolumeRequestSchema,
  moveReplicaRequestSchema,
  scaleRequestSchema,
  targetStatusSchema,
  type ClusterNodeDto,
  type ClusterSnapshotDto,
  type ClusterVolumeDto,
} from "../admin/cluster-schemas";
import { planExpansion } from "./volume-expansion";
import { createFromSource } from "./volume-clone";
import { createClusterVolume, deleteClusterVolume, getClusterVolume, moveReplica, sameVolume, scaleVolume, type RequestedVolume } from "./volume-ops";

const controllerRecordSchema = z.object({ id: z.string() });

function volumeParam(value: string | undefined): string {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new EngineError("INVALID", "invalid volume name");
  return parsed.data;
}

function snapshotParam(value: string | undefined): string {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new EngineError("INVALID", `snapshot: ${parsed.error.issues[0]?.message ?? "invalid snapshot name"}`);
  return parsed.data;
}

/** Set on a request one node forwards to the target's node, so it is never forwarded twice. */
const FORWARDED_BY = "x-stowage-forwarded-by";
/** Bounds a forwarded snapshot request; replica request timeouts bound the target's own work well below it. */
const FORWARD_TIMEOUT_MS = 60_000;

/**
 * Requests only the volume's target can carry out are forwarded to its node's
 * admin endpoint and its answer (success or error) returned as is. Null when
 * this node is the target.
 */
async function forwardToTarget(
  node: ClusterAdminOperations,
  req: http.IncomingMessage,
  v: VolumeRecord,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: unknown } | null> {
  const target = v.target?.nodeId;
  if (target === node.nodeId) return null;
  if (target === undefined) throw new EngineError("NO_TARGET", `volume ${v.id} has no target`);
  const from = req.headers[FORWARDED_BY];
  if (from !== undefined) throw new EngineError("NO_TARGET", `node ${node.nodeId} is not the target of ${v.id} (asked by ${String(from)})`);
  const admin = (await node.store.get(keys.node(target), nodeRecordSchema))?.value.admin;
  if (!admin) throw new EngineError("NO_TARGET", `the target node ${target} of ${v.id} is down`);
  try {
    const res = await fetch(`http://${admin}${urlPath}`, {
      method,
      headers: { [FORWARDED_BY]: node.nodeId, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    const answer: unknown = await res.json();
    return { status: res.status, body: answer };
  } catch (err) {
    // Refused or unreachable: nothing was done. Timed out: the target may have done it.
    if (err instanceof Error && err.name === "TimeoutError") {
      throw new EngineError("BUSY", `the target node ${target} of ${v.id} did not answer within ${FORWARD_TIMEOUT_MS} ms; the outcome is unknown`);
    }
    throw new EngineError("NO_TARGET", `the target node ${target} of ${v.id} is unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Asks the target's node for catch-up progress; a status without it is still useful. */
async function remoteTargetStatus(admin: string, id: string): Promise<z.infer<typeof targetStatusSchema> | null> {
  try {
    const res = await fetch(`http://${admin}${routePath(adminApi.clusterTarget, { volume: id })}`, { signal: AbortSignal.timeout(1_000) });
    if (!res.ok) return null;
    const parsed = targetStatusSchema.safeParse(await res.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Another create of the same name won the race: the same request gets its volume, another one EXISTS. */
async function raceToExist(node: ClusterAdminOperations, name: string, asked: RequestedVolume, err: unknown): Promise<VolumeRecord> {
  if (!(err instanceof EngineError) || err.code !== "EXISTS") throw err;
  const existing = (await node.store.get(keys.volume(name), volumeRecordSchema))?.value;
  if (!existing) throw err;
  return sameVolume(existing, asked);
}

export async function describeVolume(node: ClusterAdminOperations, v: VolumeRecord): Promise<ClusterVolumeDto> {
  const nodes = new Map((await node.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => [n.value.id, n.value]));
  const targetNode = v.target ? nodes.get(v.target.nodeId) : undefined;
  let ts = v.target?.nodeId === node.nodeId ? node.targetStatus(v.id) : null;
  if (!ts && targetNode?.admin && targetNode.id !== node.nodeId) ts = await remoteTargetStatus(targetNode.admin, v.id);
  const fresh = ts?.epoch === v.epoch ? ts : null;
  return {
    id: v.id,
    sizeBytes: v.spec.sizeBytes,
    replicasWanted: v.spec.replicas,
    encrypted: v.spec.encrypted,
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
    snapshots: v.snapshots.map((x) => snapshotView(v, x)),
    usedBytes: fresh?.usedBytes ?? 0,
    source: v.source ?? null,
    populating: v.populate !== undefined,
  };
}

export function clusterRoutes(node: ClusterAdminOperations): AdminRoute[] {
  return [
    ...groupSnapshotRoutes(node),
    {
      ...routeMatcher(adminApi.clusterNodes),
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
      ...routeMatcher(adminApi.clusterIoStats),
      handler: () => Promise.resolve({ status: 200, body: { items: node.ioSnapshots() } }),
    },
    {
      ...routeMatcher(adminApi.clusterVolumes),
      handler: async () => {
        const records = await node.store.list(keys.volumesPrefix, volumeRecordSchema);
        return { status: 200, body: { items: await Promise.all(records.map((r) => describeVolume(node, r.value))) } };
      },
    },
    {
      ...routeMatcher(adminApi.createClusterVolume),
      handler: async (req) => {
        const body = createClusterVolumeRequestSchema.parse(await readAdminJson(req));
        const asked = { sizeBytes: body.size, replicas: body.replicas, ...(body.encrypted === undefined ? {} : { encrypted: body.encrypted }), ...(body.source ? { source: body.source } : {}) };
        // A create is idempotent: the same request again gets the volume (200), another one EXISTS.
        const existing = (await node.store.get(keys.volume(body.name), volumeRecordSchema))?.value;
        if (existing) return { status: 200, body: await describeVolume(node, sameVolume(existing, asked)) };
        if (body.source) {
          const record = await createFromSource(node, {
            name: body.name,
            size: body.size,
            replicas: body.replicas,
            source: body.source,
            ...(body.encrypted === undefined ? {} : { encrypted: body.encrypted }),
            ...(body.target === undefined ? {} : { target: body.target }),
            ...(body.distinctZones ? { distinctZones: true } : {}),
            ...(body.wait === undefined ? {} : { wait: body.wait }),
          }).catch((err: unknown) => raceToExist(node, body.name, asked, err));
          return { status: 201, body: await describeVolume(node, record) };
        }
        const target = body.target ?? node.nodeId;
        const record = await createClusterVolume(node.store, {
          id: body.name,
          sizeBytes: body.size,
          replicas: body.replicas,
          targetNodeId: target,
          ...(body.distinctZones ? { requireDistinctZones: true } : {}),
          ...(body.encrypted ? { encrypted: true } : {}),
          ...(node.kms ? { kms: node.kms } : {}),
        }).catch((err: unknown) => raceToExist(node, body.name, asked, err));
        if (target === node.nodeId && body.wait !== false) await node.waitAttached(body.name, 15_000);
        return { status: 201, body: await describeVolume(node, record) };
      },
    },
    {
      ...routeMatcher(adminApi.clusterVolume),
      handler: async (_req, [id]) => ({ status: 200, body: await describeVolume(node, await getClusterVolume(node.store, volumeParam(id))) }),
    },
    {
      ...routeMatcher(adminApi.clusterTarget),
      handler: (_req, [id]) => {
        const ts = node.targetStatus(volumeParam(id));
        if (!ts) throw new EngineError("NOT_FOUND", `this node is not the target of ${id ?? ""}`);
        return Promise.resolve({ status: 200, body: ts });
      },
    },
    {
      ...routeMatcher(adminApi.clusterSnapshots),
      handler: async (_req, [id]) => {
        const v = await getClusterVolume(node.store, volumeParam(id));
        const items: ClusterSnapshotDto[] = v.snapshots.map((x) => snapshotView(v, x));
        return { status: 200, body: { items } };
      },
    },
    {
      ...routeMatcher(adminApi.createClusterSnapshot),
      handler: async (req, [id]) => {
        const volume = volumeParam(id);
        const body = createClusterSnapshotRequestSchema.parse(await readAdminJson(req));
        const v = await getClusterVolume(node.store, volume);
        if (v.snapshots.some((x) => x.name === body.name)) throw new EngineError("EXISTS", `volume ${volume} already has a snapshot ${body.name}`);
        const forwarded = await forwardToTarget(node, req, v, "POST", routePath(adminApi.createClusterSnapshot, { volume }), body);
        if (forwarded) return forwarded;
        const dto: ClusterSnapshotDto = await node.createClusterSnapshot(volume, body.name);
        return { status: 201, body: dto };
      },
    },
    {
      ...routeMatcher(adminApi.deleteClusterSnapshot),
      handler: async (req, [id, snap]) => {
        const volume = volumeParam(id);
        const name = snapshotParam(snap);
        const v = await getClusterVolume(node.store, volume);
        if (!v.snapshots.some((x) => x.name === name)) throw new EngineError("NOT_FOUND", `volume ${volume} has no snapshot ${name}`);
        const forwarded = await forwardToTarget(node, req, v, "DELETE", routePath(adminApi.deleteClusterSnapshot, { volume, snapshot: name }));
        if (forwarded) return forwarded;
        await node.deleteClusterSnapshot(volume, name);
        return { status: 200, body: { ok: true } };
      },
    },
    {
      ...routeMatcher(adminApi.deleteClusterVolume),
      handler: async (_req, [id]) => {
        await deleteClusterVolume(node.store, volumeParam(id));
        return { status: 200, body: { ok: true } };
      },
    },
    {
      ...routeMatcher(adminApi.moveReplica),
      handler: async (req, [id]) => {
        const body = moveReplicaRequestSchema.parse(await readAdminJson(req));
        const record = await moveReplica(node.store, volumeParam(id), body.replica, body.to);
        return { status: 200, body: await describeVolume(node, record) };
      },
    },
    {
      ...routeMatcher(adminApi.expandClusterVolume),
      handler: async (req, [id]) => {
        const volume = volumeParam(id);
        const body = expandClusterVolumeRequestSchema.parse(await readAdminJson(req));
        const v = await getClusterVolume(node.store, volume);
        // Refused here, before anything changes: a shrink, or a node without room for its replica's growth.
        planExpansion(v, body.size, (await node.store.list(keys.nodesPrefix, nodeRecordSchema)).map((n) => n.value));
        const target = v.target?.nodeId;
        // The target's node grows its target and answers once it serves the new size. A volume no
        // live node serves now only has its record grown: its next target attaches at the new size.
        if (target !== undefined && target !== node.nodeId && (await node.store.get(keys.node(target), nodeRecordSchema))) {
          const forwarded = await forwardToTarget(node, req, v, "POST", routePath(adminApi.expandClusterVolume, { volume }), body);
          if (forwarded) return forwarded;
        }
        const record = await node.expandClusterVolume(volume, body.size);
        return { status: 200, body: await describeVolume(node, record) };
      },
    },
    {
      ...routeMatcher(adminApi.scaleVolume),
      handler: async (req, [id]) => {
        const body = scaleRequestSchema.parse(await readAdminJson(req));
        const record = await scaleVolume(node.store, volumeParam(id), body.replicas);
        return { status: 200, body: await describeVolume(node, record) };
      },
    },
  ];
}

const SNAPSHOTS_ELSEWHERE = "this node runs in cluster mode: use /v1/cluster/volumes/:volume/snapshots ('stowage-engine cluster snapshot')";

/** Refuses a single-node request, saying what to use instead. */
function elsewhere(message: string): Promise<never> {
  return Promise.reject(new EngineError("UNSUPPORTED", message));
}

function snapshotsElsewhere(volume: string | undefined): Promise<never> {
  volumeParam(volume); // an invalid name is refused as INVALID first, as the single-node route does
  return elsewhere(SNAPSHOTS_ELSEWHERE);
}

/**
 * The single-node routes for a pool's own volumes, snapshots and scrub, as a
 * cluster-mode node answers them: with where to go instead.
 */
export const poolRoutesElsewhere: AdminRoute[] = [
  { method: "POST", pattern: /^\/v1\/volumes$/, handler: () => elsewhere("this node runs in cluster mode: use 'stowage-engine cluster volume create'") },
  {
    method: "GET",
    pattern: /^\/v1\/volumes\/([^/]+)\/snapshots$/,
    handler: (_req, [volume]) => snapshotsElsewhere(volume),
  },
  {
    method: "POST",
    pattern: /^\/v1\/volumes\/([^/]+)\/snapshots$/,
    handler: (_req, [volume]) => snapshotsElsewhere(volume),
  },
  {
    method: "DELETE",
    pattern: /^\/v1\/volumes\/([^/]+)\/snapshots\/([^/]+)$/,
    handler: (_req, [volume]) => snapshotsElsewhere(volume),
  },
  { method: "POST", pattern: /^\/v1\/scrub$/, handler: () => elsewhere("scrub of replicated volumes runs through reads (read repair) for now") },
];
