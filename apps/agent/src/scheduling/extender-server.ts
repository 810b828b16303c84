/**
 * The scheduler extender's HTTP endpoint: POST /filter and POST /prioritize
 * in the kube-scheduler extender format, GET /healthz.
 *
 * The extender is configured `ignorable`: any error it answers makes the
 * scheduler carry on without it, so a failure here costs placement quality,
 * never scheduling. It therefore answers every problem (a bad body, the engine
 * out of reach) as an error rather than a guess that could strand a pod.
 */
import http from "node:http";
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import { candidateNames, describeIssues, extenderArgsSchema, filterResult, type ExtenderArgs, type HostPriority } from "./extender-api";
import { optedOut } from "./pod-volumes";
import { filterNodes, prioritizeNodes, type PlacementInput, type PodStorageNeeds } from "./placement";
import type { StorageTopologySource } from "./topology";

export interface ExtenderServerOptions {
  /** Default all interfaces: the scheduler reaches the extender through a Service. */
  host?: string;
  /** 0 = a free port (see `address`). */
  port: number;
  source: StorageTopologySource;
  log: Logger;
  /**
   * Largest request body accepted. With nodeCacheCapable false the scheduler
   * sends every candidate node object (a few KiB each), so this is generous.
   */
  maxBodyBytes?: number;
}

type Verb = "filter" | "prioritize";

class BadRequest extends Error {}

export class SchedulerExtenderServer implements Service {
  readonly name = "scheduler-extender";
  private server: http.Server | undefined;
  address: { host: string; port: number } | undefined;

  constructor(private readonly options: ExtenderServerOptions) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      void this.route(req, res);
    });
    const host = this.options.host ?? "0.0.0.0";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, host, () => resolve());
    });
    const a = server.address();
    if (a && typeof a === "object") this.address = { host, port: a.port };
    this.server = server;
    this.options.log.info({ address: this.address }, "scheduler extender listening");
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0];
    try {
      if (req.method === "GET" && path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        return;
      }
      const verb: Verb | undefined = path === "/filter" ? "filter" : path === "/prioritize" ? "prioritize" : undefined;
      if (verb === undefined) return reply(res, 404, { Error: `no route ${path ?? ""}` });
      if (req.method !== "POST") return reply(res, 405, { Error: `${verb} takes POST` });
      await this.handle(verb, req, res);
    } catch (err) {
      // Unreachable by design; kept so a bug answers 500 instead of leaving the scheduler waiting.
      this.options.log.error({ err: message(err) }, "extender request failed");
      if (!res.headersSent) reply(res, 500, { Error: "internal error" });
    }
  }

  private async handle(verb: Verb, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let args: ExtenderArgs;
    try {
      args = parseArgs(await readBody(req, this.options.maxBodyBytes ?? 64 * 1024 * 1024));
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      this.options.log.warn({ verb, problem: err.message }, "malformed extender request");
      return reply(res, 400, { Error: err.message });
    }
    const log = this.options.log.child({ verb, pod: `${args.Pod.metadata.namespace}/${args.Pod.metadata.name}` });
    let input: PlacementInput;
    try {
      input = await this.placementInput(args);
    } catch (err) {
      log.warn({ err: message(err) }, "storage topology unavailable");
      const error = `Stowage storage topology unavailable: ${message(err)}`;
      // Filter has an Error field the scheduler reads; prioritize has none, so its error is the status.
      if (verb === "filter") return reply(res, 200, filterResult(args, new Set(candidateNames(args)), {}, error));
      return reply(res, 503, { Error: error });
    }
    if (verb === "filter") {
      const decision = filterNodes(input);
      log.debug({ passing: decision.passing.length, failed: Object.keys(decision.failed).length }, "filtered");
      return reply(res, 200, filterResult(args, new Set(decision.passing), decision.failed));
    }
    const priorities: HostPriority[] = prioritizeNodes(input).map((p) => ({ Host: p.host, Score: p.score }));
    log.debug({ nodes: priorities.length }, "prioritized");
    return reply(res, 200, priorities);
  }

  private async placementInput(args: ExtenderArgs): Promise<PlacementInput> {
    const candidates = candidateNames(args);
    const needs = await this.needs(args);
    const empty = { nodes: [], volumes: [] };
    return { candidates, needs, topology: needs.kind === "pass-through" ? empty : await this.options.source.topology(needs.volumes) };
  }

  private async needs(args: ExtenderArgs): Promise<PodStorageNeeds> {
    if (optedOut(args.Pod)) return { kind: "pass-through", why: "opted-out" };
    const volumes = await this.options.source.podVolumes(args.Pod);
    return volumes.length === 0 ? { kind: "pass-through", why: "no-stowage-volumes" } : { kind: "stowage", volumes };
  }
}

function parseArgs(body: string): ExtenderArgs {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new BadRequest("body: not valid JSON");
  }
  const parsed = extenderArgsSchema.safeParse(json);
  if (!parsed.success) throw new BadRequest(describeIssues(parsed.error));
  return parsed.data;
}

/** The body as text; one over `limit` is drained (so the 400 reaches the client) but not kept. */
function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => (size > limit ? reject(new BadRequest(`body: larger than ${limit} bytes`)) : resolve(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
