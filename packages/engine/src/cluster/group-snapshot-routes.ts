/**
 * The group snapshot routes of a cluster-mode node's admin endpoint
 * (group-snapshot-api.ts): any node coordinates a group it is asked for; the
 * target of each volume answers the quiesce, snapshot and resume of it.
 */
import { routeMatcher } from "../admin/api";
import { nameSchema } from "../admin/schemas";
import { readAdminJson, type AdminRoute } from "../admin/server";
import type { GroupSnapshotRecord } from "../consensus/records";
import { EngineError } from "../errors";
import { createLogger, type Logger } from "../logger";
import type { ClusterAdminOperations } from "./admin-operations";
import { groupSnapshotApi, groupVolumeSnapshotRequestSchema, quiesceRequestSchema, createGroupSnapshotRequestSchema, type GroupSnapshotDto } from "./group-snapshot-api";
import { GroupQuiesceSessions } from "./group-snapshot-participant";
import { deleteGroupSnapshot, getGroupSnapshot, groupSnapshotDeps, listGroupSnapshots, takeGroupSnapshot } from "./group-snapshot";

/** One set of holds per node, shared by its plain and TLS admin endpoints. */
const sessionsOf = new WeakMap<ClusterAdminOperations, GroupQuiesceSessions>();

function param(value: string | undefined, what: string): string {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new EngineError("INVALID", `${what}: ${parsed.error.issues[0]?.message ?? "invalid name"}`);
  return parsed.data;
}

function dto(g: GroupSnapshotRecord): GroupSnapshotDto {
  return { name: g.name, createdAt: g.createdAt, volumes: g.volumes, pause: g.pause };
}

export function groupSnapshotRoutes(node: ClusterAdminOperations, log: Logger = createLogger({ bindings: { component: "group-snapshots" } })): AdminRoute[] {
  let sessions = sessionsOf.get(node);
  if (!sessions) {
    sessions = new GroupQuiesceSessions(log);
    sessionsOf.set(node, sessions);
  }
  const holds = sessions;
  const deps = groupSnapshotDeps(node, log);
  return [
    {
      ...routeMatcher(groupSnapshotApi.create),
      handler: async (req) => {
        const body = createGroupSnapshotRequestSchema.parse(await readAdminJson(req));
        return { status: 201, body: dto(await takeGroupSnapshot(deps, body)) };
      },
    },
    {
      ...routeMatcher(groupSnapshotApi.list),
      handler: async () => ({ status: 200, body: { items: (await listGroupSnapshots(node.store)).map(dto) } }),
    },
    {
      ...routeMatcher(groupSnapshotApi.get),
      handler: async (_req, [group]) => ({ status: 200, body: dto(await getGroupSnapshot(node.store, param(group, "group"))) }),
    },
    {
      ...routeMatcher(groupSnapshotApi.delete),
      handler: async (_req, [group]) => {
        await deleteGroupSnapshot(deps, param(group, "group"));
        return { status: 200, body: { ok: true } };
      },
    },
    {
      ...routeMatcher(groupSnapshotApi.quiesce),
      handler: async (req, [session, volume]) => {
        const id = param(volume, "volume");
        const { holdMs } = quiesceRequestSchema.parse(await readAdminJson(req));
        await holds.quiesce(param(session, "session"), id, holdMs, () => node.quiesceVolume(id));
        return { status: 200, body: { ok: true } };
      },
    },
    {
      ...routeMatcher(groupSnapshotApi.snapshot),
      handler: async (req, [session, volume]) => {
        const { name } = groupVolumeSnapshotRequestSchema.parse(await readAdminJson(req));
        return { status: 201, body: await holds.snapshot(param(session, "session"), param(volume, "volume"), name) };
      },
    },
    {
      ...routeMatcher(groupSnapshotApi.resume),
      handler: async (_req, [session, volume]) => ({ status: 200, body: { pauseMs: await holds.resume(param(session, "session"), param(volume, "volume")) } }),
    },
  ];
}
