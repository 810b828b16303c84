/**
 * Every route of the admin API, node and cluster mode, in one table: method,
 * path, request and response schema. The servers register their handlers
 * against these entries (`routeMatcher`) and the client builds its requests
 * from them (`routePath`), so a path or a schema exists once.
 */
import { z } from "zod";
import {
  clusterNodeSchema,
  clusterSnapshotSchema,
  clusterVolumeSchema,
  createClusterSnapshotRequestSchema,
  createClusterVolumeRequestSchema,
  expandClusterVolumeRequestSchema,
  moveReplicaRequestSchema,
  scaleRequestSchema,
  targetStatusSchema,
} from "./cluster-schemas";
import { ioStatsSnapshotSchema } from "../metrics/io-stats";
import {
  createSnapshotRequestSchema,
  createVolumeRequestSchema,
  listSchema,
  okSchema,
  scrubReportSchema,
  scrubRequestSchema,
  snapshotSchema,
  statusSchema,
  volumeSchema,
} from "./schemas";

export type AdminMethod = "GET" | "POST" | "DELETE";

export interface AdminRouteSpec<P extends string = string, Req extends z.ZodType | undefined = z.ZodType | undefined, Res extends z.ZodType = z.ZodType> {
  readonly method: AdminMethod;
  /** `:name` segments are path parameters (URI-encoded by the client, decoded by the server). */
  readonly path: P;
  /** The JSON body; undefined for routes that take none. */
  readonly request: Req;
  readonly response: Res;
}

function route<P extends string, Res extends z.ZodType, Req extends z.ZodType | undefined = undefined>(
  method: AdminMethod,
  path: P,
  response: Res,
  request?: Req,
): AdminRouteSpec<P, Req, Res> {
  return { method, path, request: request as Req, response };
}

export const ioStatsItemSchema = z.object({ volume: z.string(), stats: ioStatsSnapshotSchema });

export const adminApi = {
  // Node (both modes)
  status: route("GET", "/v1/status", statusSchema),
  // Node mode: volumes of the local pool
  listVolumes: route("GET", "/v1/volumes", listSchema(volumeSchema)),
  createVolume: route("POST", "/v1/volumes", volumeSchema, createVolumeRequestSchema),
  deleteVolume: route("DELETE", "/v1/volumes/:volume", okSchema),
  listSnapshots: route("GET", "/v1/volumes/:volume/snapshots", listSchema(snapshotSchema)),
  createSnapshot: route("POST", "/v1/volumes/:volume/snapshots", snapshotSchema, createSnapshotRequestSchema),
  deleteSnapshot: route("DELETE", "/v1/volumes/:volume/snapshots/:snapshot", okSchema),
  scrub: route("POST", "/v1/scrub", scrubReportSchema, scrubRequestSchema),
  // Cluster mode: any node answers for the whole cluster, except where noted
  clusterNodes: route("GET", "/v1/cluster/nodes", listSchema(clusterNodeSchema)),
  /** The volumes this node serves as target. */
  clusterIoStats: route("GET", "/v1/cluster/io-stats", listSchema(ioStatsItemSchema)),
  clusterVolumes: route("GET", "/v1/cluster/volumes", listSchema(clusterVolumeSchema)),
  createClusterVolume: route("POST", "/v1/cluster/volumes", clusterVolumeSchema, createClusterVolumeRequestSchema),
  clusterVolume: route("GET", "/v1/cluster/volumes/:volume", clusterVolumeSchema),
  deleteClusterVolume: route("DELETE", "/v1/cluster/volumes/:volume", okSchema),
  /** Only the volume's target node answers. */
  clusterTarget: route("GET", "/v1/cluster/volumes/:volume/target", targetStatusSchema),
  clusterSnapshots: route("GET", "/v1/cluster/volumes/:volume/snapshots", listSchema(clusterSnapshotSchema)),
  createClusterSnapshot: route("POST", "/v1/cluster/volumes/:volume/snapshots", clusterSnapshotSchema, createClusterSnapshotRequestSchema),
  deleteClusterSnapshot: route("DELETE", "/v1/cluster/volumes/:volume/snapshots/:snapshot", okSchema),
  moveReplica: route("POST", "/v1/cluster/volumes/:volume/move", clusterVolumeSchema, moveReplicaRequestSchema),
  scaleVolume: route("POST", "/v1/cluster/volumes/:volume/scale", clusterVolumeSchema, scaleRequestSchema),
  /** Grows the volume (the same size is a no-op); answered by the target's node once it serves the new size. */
  expandClusterVolume: route("POST", "/v1/cluster/volumes/:volume/expand", clusterVolumeSchema, expandClusterVolumeRequestSchema),
} as const;

export type AdminApi = typeof adminApi;

/** `"/v1/volumes/:volume/snapshots/:snapshot"` → `"volume" | "snapshot"`. */
export type RouteParamName<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | RouteParamName<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

type ParamsInput<P extends string> = [RouteParamName<P>] extends [never] ? { params?: undefined } : { params: Record<RouteParamName<P>, string> };
type BodyInput<Req> = Req extends z.ZodType ? { body: z.input<Req> } : { body?: undefined };

/** What a call of the route needs: its path parameters and its body, each only when it has them. */
export type RouteInput<R extends AdminRouteSpec> = ParamsInput<R["path"]> & BodyInput<R["request"]>;
export type RouteOutput<R extends AdminRouteSpec> = z.output<R["response"]>;

/** The route's path with its parameters filled in and encoded. */
export function routePath(route: AdminRouteSpec, params: Record<string, string> = {}): string {
  return route.path.replace(/:([a-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`route ${route.path} needs the parameter ${name}`);
    return encodeURIComponent(value);
  });
}

/** Method and pattern the servers match a request with; the pattern's groups are the parameters in path order. */
export function routeMatcher(route: AdminRouteSpec): { method: AdminMethod; pattern: RegExp } {
  const source = route.path
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "([^/]+)" : segment.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")))
    .join("\\/");
  return { method: route.method, pattern: new RegExp(`^${source}$`) };
}
