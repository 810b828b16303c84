/**
 * HTTP JSON admin endpoint of a node. Loopback only (the CLI and the local
 * agent are its clients); every body is validated with the shared schemas and
 * every error has the `{ error: { code, message, details } }` shape. A 500
 * never carries the underlying message: it is logged instead.
 */
import http from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { z } from "zod";
import { EngineError } from "../errors";
import type { Logger } from "../logger";
import { adminApi, routeMatcher } from "./api";
import { ADMIN_ERRORS } from "./errors";
import { adminCertificateProblem, type AdminServerTls } from "./tls";
import {
  nameSchema,
  type AdminErrorCode,
  type CreateVolumeRequest,
  type ScrubReport,
  type SnapshotDto,
  type StatusDto,
  type VolumeDto,
} from "./schemas";

/** What every node's endpoint serves, in single-node and in cluster mode; the node implements them. */
export interface NodeAdminOperations {
  status(): Promise<StatusDto>;
  listVolumes(): Promise<VolumeDto[]>;
  deleteVolume(name: string): Promise<void>;
}

/**
 * The single-node endpoint: a pool's volumes, their snapshots and scrub. A
 * cluster-mode node serves those through its `/v1/cluster/...` routes instead.
 */
export interface AdminOperations extends NodeAdminOperations {
  createVolume(request: CreateVolumeRequest): Promise<VolumeDto>;
  listSnapshots(volume: string): Promise<SnapshotDto[]>;
  createSnapshot(volume: string, name: string): Promise<SnapshotDto>;
  deleteSnapshot(volume: string, name: string): Promise<void>;
  scrub(volume?: string): Promise<ScrubReport>;
}

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof z.ZodError) {
    return new HttpError(400, "INVALID", err.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "), err.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
  }
  if (err instanceof EngineError) {
    const mapped = ADMIN_ERRORS[err.code];
    // A 500 never carries the message: the caller logs it.
    if (mapped.status !== 500) return new HttpError(mapped.status, mapped.code, err.message);
  }
  return undefined;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) throw new HttpError(413, "INVALID", "request body too large");
    chunks.push(buf);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "INVALID", "request body is not valid JSON");
  }
}

/** A route's answer that is not JSON (Prometheus metrics text). */
export class TextBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = body instanceof TextBody ? body.text : JSON.stringify(body);
  res.writeHead(status, { "content-type": body instanceof TextBody ? body.contentType : "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

type Route = (req: http.IncomingMessage, params: string[]) => Promise<{ status: number; body: unknown }>;

/** A route added by another subsystem (cluster mode); matched before the built-in ones. */
export interface AdminRoute {
  method: string;
  pattern: RegExp;
  handler: Route;
}

export { readJson as readAdminJson };

/** The plain HTTP endpoint (loopback: `serve --admin`). */
export function createAdminServer(ops: NodeAdminOperations | AdminOperations, log: Logger, extraRoutes: AdminRoute[] = []): http.Server {
  return http.createServer(adminRequestListener(ops, log, extraRoutes));
}

/**
 * The same routes over HTTPS for callers on the network (`serve --admin-tls`). Every request
 * needs a client certificate that chains to the cluster CA and is an admin certificate
 * (admin/tls.ts); any other (none, another CA's, a node's) is answered 403 with the reason
 * before any handler runs. The handshake itself lets them through on purpose: with TLS 1.3 a
 * refusal there reaches the client after it has sent its request, often as a bare connection
 * reset, indistinguishable from a node going away (and then retried on the next node).
 */
export function createAdminTlsServer(listener: http.RequestListener, tls: AdminServerTls, log: Logger): https.Server {
  return https.createServer({ ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const problem = socket.authorized ? adminCertificateProblem(peer) : peer.subject === undefined ? "no client certificate" : `the client certificate is not from the cluster CA (${socket.authorizationError.message})`;
    if (problem !== null) {
      log.warn({ method: req.method, path: req.url, subject: peer.subject?.CN, reason: problem }, "admin request refused");
      send(res, 403, { error: { code: "ACCESS_DENIED", message: `admin API over TLS: ${problem}; an admin certificate from the cluster CA is needed ('stowage-engine cert admin')` } });
      return;
    }
    listener(req, res);
  }).on("tlsClientError", (err) => log.info({ err: err.message }, "admin TLS handshake failed"));
}

/** The request handler behind both endpoints: one route table, one set of handlers. */
export function adminRequestListener(ops: NodeAdminOperations | AdminOperations, log: Logger, extraRoutes: AdminRoute[] = []): http.RequestListener {
  const param = (value: string | undefined, what: string): string => {
    const parsed = nameSchema.safeParse(value);
    if (!parsed.success) throw new HttpError(400, "INVALID", `invalid ${what} name`);
    return parsed.data;
  };
  const routes: AdminRoute[] = [
    ...extraRoutes,
    { ...routeMatcher(adminApi.status), handler: async () => ({ status: 200, body: await ops.status() }) },
    { ...routeMatcher(adminApi.listVolumes), handler: async () => ({ status: 200, body: { items: await ops.listVolumes() } }) },
    {
      ...routeMatcher(adminApi.deleteVolume),
      handler: async (_req, [name]) => {
        await ops.deleteVolume(param(name, "volume"));
        return { status: 200, body: { ok: true } };
      },
    },
  ];
  // A cluster-mode node has no pool volumes of its own to create, snapshot or scrub.
  if ("createVolume" in ops) {
    const pool = ops;
    routes.push(
      {
        ...routeMatcher(adminApi.createVolume),
        handler: async (req) => ({ status: 201, body: await pool.createVolume(adminApi.createVolume.request.parse(await readJson(req))) }),
      },
      {
        ...routeMatcher(adminApi.listSnapshots),
        handler: async (_req, [volume]) => ({ status: 200, body: { items: await pool.listSnapshots(param(volume, "volume")) } }),
      },
      {
        ...routeMatcher(adminApi.createSnapshot),
        handler: async (req, [volume]) => {
          const body = adminApi.createSnapshot.request.parse(await readJson(req));
          return { status: 201, body: await pool.createSnapshot(param(volume, "volume"), body.name) };
        },
      },
      {
        ...routeMatcher(adminApi.deleteSnapshot),
        handler: async (_req, [volume, name]) => {
          await pool.deleteSnapshot(param(volume, "volume"), param(name, "snapshot"));
          return { status: 200, body: { ok: true } };
        },
      },
      {
        ...routeMatcher(adminApi.scrub),
        handler: async (req) => ({ status: 200, body: await pool.scrub(adminApi.scrub.request.parse(await readJson(req)).volume) }),
      },
    );
  }

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://admin");
    const started = Date.now();
    const handle = async (): Promise<{ status: number; body: unknown }> => {
      const matching = routes.filter((r) => r.pattern.test(url.pathname));
      if (matching.length === 0) throw new HttpError(404, "NOT_FOUND", `no route for ${url.pathname}`);
      const route = matching.find((r) => r.method === req.method);
      if (!route) throw new HttpError(405, "INVALID", `method ${req.method ?? "?"} not allowed on ${url.pathname}`);
      const params = (route.pattern.exec(url.pathname) ?? []).slice(1).map((p) => decodeURIComponent(p));
      return route.handler(req, params);
    };
    handle().then(
      ({ status, body }) => {
        send(res, status, body);
        log.debug({ method: req.method, path: url.pathname, status, ms: Date.now() - started }, "admin request");
      },
      (err: unknown) => {
        const known = toHttpError(err);
        if (known) {
          send(res, known.status, { error: { code: known.code, message: known.message, ...(known.details === undefined ? {} : { details: known.details }) } });
          log.info({ method: req.method, path: url.pathname, status: known.status, code: known.code }, "admin request refused");
          return;
        }
        log.error({ method: req.method, path: url.pathname, err: err instanceof Error ? err.message : String(err) }, "admin request failed");
        send(res, 500, { error: { code: "INTERNAL", message: "internal error; see the node log" } });
      },
    );
  };
}
