/**
 * Mobility's admin routes, added to every cluster node's admin endpoint:
 *
 *   GET    /metrics                                   Prometheus text (mobility series, the process's GC counters)
 *   GET    /v1/mobility/peers                         peers of this cluster
 *   POST   /v1/mobility/peers                         install a pair bundle { bundle, bandwidthBytesPerSec? }
 *   POST   /v1/mobility/peers/:peer/bandwidth         { bytesPerSec | null }
 *   DELETE /v1/mobility/peers/:peer
 *   GET    /v1/mobility/replications                  status of every volume's replication
 *   GET    /v1/mobility/replications/:volume          status, with history
 *   POST   /v1/mobility/replications/:volume/start    { peer, destination?, replicas?, wait? }
 *   POST   /v1/mobility/replications/:volume/resume   the last run's peer and destination again
 *   POST   /v1/mobility/replications/:volume/stop
 *   POST   /v1/mobility/replications/:volume/verify   per-extent digests compared on both sides
 *
 * A start, stop or verify that must run on another node (the one holding a
 * replica, or running the run) is forwarded to that node's admin endpoint once.
 */
import type http from "node:http";
import { z } from "zod";
import { routeMatcher, routePath } from "../../admin/api";
import { nameSchema } from "../../admin/schemas";
import { readAdminJson, TextBody, type AdminRoute } from "../../admin/server";
import { keys, nodeRecordSchema } from "../../consensus/records";
import type { ConsensusStore } from "../../consensus/store";
import { EngineError } from "../../errors";
import { processGc } from "../../metrics/gc-stats";
import { mobilityKeys, runRecordSchema } from "./records";
import { addPeerRequestSchema, mobilityApi, peerBandwidthRequestSchema, peerNameSchema, startGroupReplicationRequestSchema, startReplicationRequestSchema, type StartReplicationRequest } from "./schemas";
import { ElsewhereError, type Mobility } from "./service";

const FORWARDED_BY = "x-stowage-forwarded-by";
const FORWARD_TIMEOUT_MS = 15 * 60_000;

type Answer = { status: number; body: unknown };

function param<T>(schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false } }, value: string | undefined, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new EngineError("INVALID", `${what}: invalid name '${value ?? ""}'`);
  return parsed.data;
}

/** Takes a group snapshot (cluster/group-snapshot.ts); the volumes and the snapshot each now holds. */
export type TakeGroupSnapshot = (name: string, volumes: string[]) => Promise<Array<{ volume: string; snapshot: string }>>;

export function mobilityRoutes(mobility: () => Mobility | undefined, store: ConsensusStore, nodeId: string, takeGroup: TakeGroupSnapshot): AdminRoute[] {
  const need = (): Mobility => {
    const m = mobility();
    if (!m) throw new EngineError("UNSUPPORTED", `node ${nodeId} serves no mobility endpoint (start it with --mobility HOST:PORT)`);
    return m;
  };

  /** Runs `fn`; when it must run elsewhere, forwards the request there (once). */
  const here = async (req: http.IncomingMessage, body: unknown, fn: () => Promise<Answer>): Promise<Answer> => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ElsewhereError)) throw err;
      if (req.headers[FORWARDED_BY] !== undefined) throw new EngineError("NO_TARGET", `node ${nodeId} cannot run this (asked by ${String(req.headers[FORWARDED_BY])})`);
      const admin = (await store.get(keys.node(err.nodeId), nodeRecordSchema))?.value.admin;
      if (!admin) throw new EngineError("NO_TARGET", `node ${err.nodeId}, which must run this, is down`);
      const res = await fetch(`http://${admin}${req.url ?? "/"}`, {
        method: req.method ?? "POST",
        headers: { [FORWARDED_BY]: nodeId, "content-type": "application/json" },
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      }).catch((e: unknown) => {
        throw new EngineError("NO_TARGET", `node ${err.nodeId} is unreachable: ${e instanceof Error ? e.message : String(e)}`);
      });
      return { status: res.status, body: await res.json() };
    }
  };

  const volumeOf = (v: string | undefined): string => param(nameSchema, v, "volume");

  /** Starts one volume's run here, or through the node holding its replica. */
  const startOne = async (volume: string, body: StartReplicationRequest): Promise<unknown> => {
    const req = stripUndefined(body);
    try {
      return await need().startReplication(volume, req);
    } catch (err) {
      if (!(err instanceof ElsewhereError)) throw err;
      const admin = (await store.get(keys.node(err.nodeId), nodeRecordSchema))?.value.admin;
      if (!admin) throw new EngineError("NO_TARGET", `node ${err.nodeId}, which holds ${volume}, is down`);
      const res = await fetch(`http://${admin}${routePath(mobilityApi.start, { volume })}`, {
        method: "POST",
        headers: { [FORWARDED_BY]: nodeId, "content-type": "application/json" },
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      const answer: unknown = await res.json();
      if (!res.ok) {
        const parsed = errorBodySchema.safeParse(answer);
        throw new EngineError("NO_TARGET", `${volume}: ${parsed.success ? parsed.data.error.message : `node ${err.nodeId} answered ${res.status}`}`);
      }
      return answer;
    }
  };

  return [
    {
      method: "GET",
      pattern: /^\/metrics$/,
      handler: async () => ({ status: 200, body: new TextBody(`${(await mobility()?.metricsText()) ?? ""}${processGc.render()}`, "text/plain; version=0.0.4") }),
    },
    { ...routeMatcher(mobilityApi.peers), handler: async () => ({ status: 200, body: { items: await need().listPeers() } }) },
    {
      ...routeMatcher(mobilityApi.addPeer),
      handler: async (req) => {
        const body = addPeerRequestSchema.parse(await readAdminJson(req));
        return { status: 201, body: await need().addPeer(body.bundle, body.bandwidthBytesPerSec === undefined ? {} : { bandwidthBytesPerSec: body.bandwidthBytesPerSec }) };
      },
    },
    {
      ...routeMatcher(mobilityApi.peerBandwidth),
      handler: async (req, [peer]) => {
        const body = peerBandwidthRequestSchema.parse(await readAdminJson(req));
        return { status: 200, body: await need().setPeerBandwidth(param(peerNameSchema, peer, "peer"), body.bytesPerSec) };
      },
    },
    {
      ...routeMatcher(mobilityApi.removePeer),
      handler: async (_req, [peer]) => {
        await need().removePeer(param(peerNameSchema, peer, "peer"));
        return { status: 200, body: { ok: true } };
      },
    },
    { ...routeMatcher(mobilityApi.replications), handler: async () => ({ status: 200, body: { items: await need().status() } }) },
    {
      ...routeMatcher(mobilityApi.replication),
      handler: async (_req, [volume]) => {
        const [status] = await need().status(volumeOf(volume));
        return { status: 200, body: status };
      },
    },
    {
      ...routeMatcher(mobilityApi.start),
      handler: async (req, [volume]) => {
        const body = startReplicationRequestSchema.parse(await readAdminJson(req));
        return here(req, body, async () => ({ status: 202, body: await need().startReplication(volumeOf(volume), stripUndefined(body)) }));
      },
    },
    {
      ...routeMatcher(mobilityApi.startGroup),
      handler: async (req, [group]) => {
        const body = startGroupReplicationRequestSchema.parse(await readAdminJson(req));
        const name = param(nameSchema, group, "group");
        need();
        // One crash-consistent point across the volumes, then one run per volume from it, in parallel.
        const members = await takeGroup(name, body.volumes);
        const runs = await Promise.all(
          members.map((m) =>
            startOne(m.volume, { peer: body.peer, snapshot: m.snapshot, ...(body.replicas === undefined ? {} : { replicas: body.replicas }), ...(body.wait === undefined ? {} : { wait: body.wait }) }),
          ),
        );
        return { status: 202, body: { items: runs } };
      },
    },
    {
      ...routeMatcher(mobilityApi.resume),
      handler: async (req, [volume]) => {
        const id = volumeOf(volume);
        const run = (await store.get(mobilityKeys.run(id), runRecordSchema))?.value;
        if (!run) throw new EngineError("NOT_FOUND", `volume ${id} has never been replicated; use start`);
        const body = { peer: run.peer, destination: run.destination, ...(run.destinationReplicas === undefined ? {} : { replicas: run.destinationReplicas }) };
        return here(req, body, async () => ({ status: 202, body: await need().startReplication(id, body) }));
      },
    },
    {
      ...routeMatcher(mobilityApi.stop),
      handler: async (req, [volume]) => here(req, {}, async () => ({ status: 200, body: await need().stopReplication(volumeOf(volume)) })),
    },
    {
      ...routeMatcher(mobilityApi.verify),
      handler: async (req, [volume]) => here(req, {}, async () => ({ status: 200, body: await need().verify(volumeOf(volume)) })),
    },
  ];
}

const errorBodySchema = z.object({ error: z.object({ message: z.string() }) });

function stripUndefined(b: StartReplicationRequest) {
  return {
    peer: b.peer,
    ...(b.snapshot === undefined ? {} : { snapshot: b.snapshot }),
    ...(b.destination === undefined ? {} : { destination: b.destination }),
    ...(b.replicas === undefined ? {} : { replicas: b.replicas }),
    ...(b.wait === undefined ? {} : { wait: b.wait }),
  };
}
