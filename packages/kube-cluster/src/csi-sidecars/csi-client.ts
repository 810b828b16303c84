/**
 * A CSI client over the driver's Unix socket, as the sidecars and the kubelet hold one: the three
 * services from @stowage/csi-spec, unary calls as promises with a deadline, and answers checked with
 * zod so a driver that returns something unexpected fails with the field named.
 */
import { credentials, Metadata, status as grpcStatus, type Client, type ServiceError } from "@grpc/grpc-js";
import { csiServices } from "@stowage/csi-spec";
import { z } from "zod";

export type CsiService = "Identity" | "Controller" | "Node";

type UnaryMethod = (request: object, metadata: Metadata, options: { deadline: Date }, callback: (err: ServiceError | null, response?: unknown) => void) => void;

/** A failed CSI call, with the gRPC code and the message shown as upstream's sidecars show it. */
export class CsiCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
  ) {
    super(`rpc error: code = ${codeName(code)} desc = ${details}`);
  }
}

function codeName(code: number): string {
  const entry = Object.entries(grpcStatus).find(([, v]) => Number(v) === code);
  // grpc-go spells codes in CamelCase (InvalidArgument); grpc-js's enum is UPPER_SNAKE.
  return entry ? entry[0].toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase()) : String(code);
}

export class CsiClient {
  private readonly clients: Record<CsiService, Client>;

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 30_000,
  ) {
    const services = csiServices();
    const address = `unix:${socketPath}`;
    const insecure = credentials.createInsecure();
    this.clients = {
      Identity: new services.Identity(address, insecure),
      Controller: new services.Controller(address, insecure),
      Node: new services.Node(address, insecure),
    };
  }

  async call<S extends z.ZodType>(service: CsiService, method: string, request: object, answer: S): Promise<z.infer<S>> {
    const client = this.clients[service];
    // Adapter: grpc-js builds one method per rpc of the loaded service; the name is checked here.
    const fn = (client as unknown as Record<string, unknown>)[method];
    if (typeof fn !== "function") throw new Error(`CSI ${service} has no method ${method}`);
    const response = await new Promise<unknown>((resolve, reject) => {
      (fn as UnaryMethod).call(client, request, new Metadata(), { deadline: new Date(Date.now() + this.timeoutMs) }, (err, res) => {
        if (err) reject(new CsiCallError(method, err.code, err.details));
        else resolve(res);
      });
    });
    const parsed = answer.safeParse(response);
    if (!parsed.success) throw new Error(`CSI ${method} answered an unexpected message: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return parsed.data;
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}

const stringMap = z.record(z.string(), z.string()).default({});
export const topologyAnswer = z.object({ segments: stringMap });

export const createVolumeAnswer = z.object({
  volume: z.object({
    capacity_bytes: z.string(),
    volume_id: z.string().min(1),
    volume_context: stringMap,
    accessible_topology: z.array(topologyAnswer).default([]),
  }),
});
export const emptyAnswer = z.object({}).loose();
export const publishAnswer = z.object({ publish_context: stringMap });
export const expandAnswer = z.object({ capacity_bytes: z.string(), node_expansion_required: z.boolean().default(false) });
export const nodeExpandAnswer = z.object({ capacity_bytes: z.string() });
export const createSnapshotAnswer = z.object({
  snapshot: z.object({
    size_bytes: z.string(),
    snapshot_id: z.string().min(1),
    source_volume_id: z.string(),
    creation_time: z.object({ seconds: z.string(), nanos: z.number() }).nullish(),
    ready_to_use: z.boolean(),
  }),
});
export const nodeInfoAnswer = z.object({
  node_id: z.string().min(1),
  max_volumes_per_node: z.string().default("0"),
  accessible_topology: topologyAnswer.nullish(),
});
export const nodeCapabilitiesAnswer = z.object({
  capabilities: z.array(z.object({ rpc: z.object({ type: z.string() }).nullish() }).loose()).default([]),
});
