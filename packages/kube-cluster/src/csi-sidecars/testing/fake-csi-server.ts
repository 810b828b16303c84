/**
 * A fake CSI driver for the sidecar and kubelet tests: a real grpc-js server on a Unix socket with the
 * spec's three services, recording every call with its decoded request, answering with simple
 * defaults that a test may override per method (or fail with a gRPC code).
 */
import fs from "node:fs";
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { serviceDefinition } from "@stowage/csi-spec";

export interface RecordedCall {
  method: string;
  request: Record<string, unknown>;
}

export class FakeCsiError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export type FakeHandler = (request: Record<string, unknown>) => unknown;

export interface FakeCsiServer {
  socketPath: string;
  calls: RecordedCall[];
  /** The recorded calls of one method, in order. */
  callsOf(method: string): Record<string, unknown>[];
  handle(method: string, handler: FakeHandler): void;
  stop(): Promise<void>;
}

function obj(v: unknown): Record<string, unknown> {
  // Adapter: grpc-js hands the decoded message as unknown; the loader options make it a plain object.
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}

function text(v: unknown, fallback: string): string {
  return typeof v === "string" ? v : fallback;
}

export function defaultHandlers(nodeId: string, segments: Record<string, string>): Record<string, FakeHandler> {
  return {
    GetPluginInfo: () => ({ name: "csi.stowage.io", vendor_version: "test" }),
    Probe: () => ({ ready: { value: true } }),
    CreateVolume: (r) => {
      const req = obj(r.accessibility_requirements);
      const requisite = Array.isArray(req.requisite) ? req.requisite : [];
      return {
        volume: {
          volume_id: String(r.name),
          capacity_bytes: text(obj(r.capacity_range).required_bytes, "0"),
          volume_context: { "stowage.io/fsType": "ext4" },
          accessible_topology: requisite.length > 0 ? [requisite[0]] : [],
        },
      };
    },
    DeleteVolume: () => ({}),
    ControllerPublishVolume: (r) => ({ publish_context: { "stowage.io/nbd-address": "127.0.0.1:10809", "stowage.io/export": String(r.volume_id) } }),
    ControllerUnpublishVolume: () => ({}),
    ControllerExpandVolume: (r) => ({ capacity_bytes: text(obj(r.capacity_range).required_bytes, "0"), node_expansion_required: true }),
    CreateSnapshot: (r) => ({ snapshot: { snapshot_id: `${String(r.source_volume_id)}/${String(r.name)}`, source_volume_id: r.source_volume_id, size_bytes: "1073741824", creation_time: { seconds: "1700000000", nanos: 0 }, ready_to_use: true } }),
    DeleteSnapshot: () => ({}),
    NodeGetInfo: () => ({ node_id: nodeId, max_volumes_per_node: "0", accessible_topology: { segments } }),
    NodeGetCapabilities: () => ({ capabilities: ["STAGE_UNSTAGE_VOLUME", "EXPAND_VOLUME"].map((type) => ({ rpc: { type } })) }),
    NodeStageVolume: () => ({}),
    NodeUnstageVolume: () => ({}),
    NodePublishVolume: () => ({}),
    NodeUnpublishVolume: () => ({}),
    NodeExpandVolume: (r) => ({ capacity_bytes: text(obj(r.capacity_range).required_bytes, "0") }),
  };
}

export async function startFakeCsiServer(socketPath: string, opts: { nodeId?: string; segments?: Record<string, string> } = {}): Promise<FakeCsiServer> {
  const calls: RecordedCall[] = [];
  const handlers = defaultHandlers(opts.nodeId ?? "node-a", opts.segments ?? { "topology.stowage.io/zone": "z1", "topology.stowage.io/node": opts.nodeId ?? "node-a" });
  const server = new Server();
  for (const service of ["Identity", "Controller", "Node"] as const) {
    const definition = serviceDefinition(service);
    const impl: UntypedServiceImplementation = {};
    for (const [, method] of Object.entries(definition)) {
      // The rpc name as the proto spells it (originalName is grpc-js's camelCase alias).
      const name = method.path.split("/").pop() ?? "";
      impl[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const request = obj(call.request);
        calls.push({ method: name, request });
        const handler = handlers[name];
        if (!handler) {
          callback({ code: status.UNIMPLEMENTED, details: `${name} is not implemented by the fake` });
          return;
        }
        try {
          callback(null, handler(request));
        } catch (err) {
          if (err instanceof FakeCsiError) callback({ code: err.code, details: err.message });
          else callback({ code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
        }
      };
    }
    server.addService(definition, impl);
  }
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return {
    socketPath,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method).map((c) => c.request),
    handle: (method, handler) => {
      handlers[method] = handler;
    },
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
