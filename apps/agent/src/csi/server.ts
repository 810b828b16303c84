/**
 * The CSI gRPC server on a Unix socket: Identity plus Controller (cluster
 * role), Node (node role) or both. A Service of the supervisor, so the agent
 * starts and stops it with its other parts.
 */
import fs from "node:fs";
import path from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import type { ControllerService } from "./controller";
import { identityService } from "./identity";
import type { NodeService } from "./node";
import { serviceDefinition } from "@stowage/csi-spec";

export interface CsiServerOptions {
  socketPath: string;
  vendorVersion: string;
  /** Probe's answer: whether the engine answers. */
  ready: () => Promise<boolean>;
  controller?: ControllerService;
  node?: NodeService;
  log: Logger;
}

export class CsiServer implements Service {
  readonly name = "csi";
  readonly stopTimeoutMs = 10_000;
  private server: Server | null = null;

  constructor(private readonly opts: CsiServerOptions) {}

  async start(): Promise<void> {
    const { socketPath, log } = this.opts;
    fs.mkdirSync(path.dirname(socketPath), { recursive: true });
    // A socket left by a process that died: nobody listens on it, and binding would fail with EADDRINUSE.
    if (fs.statSync(socketPath, { throwIfNoEntry: false })?.isSocket()) fs.unlinkSync(socketPath);
    const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
    server.addService(serviceDefinition("Identity"), identityService({ vendorVersion: this.opts.vendorVersion, controller: this.opts.controller !== undefined, ready: this.opts.ready, log }));
    if (this.opts.controller) server.addService(serviceDefinition("Controller"), this.opts.controller.implementation());
    if (this.opts.node) server.addService(serviceDefinition("Node"), this.opts.node.implementation());
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.server = server;
    log.info({ socket: socketPath, controller: this.opts.controller !== undefined, node: this.opts.node !== undefined }, "csi server listening");
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    // Calls in flight (a mkfs, a mount) get a few seconds to finish; then the rest are cut off.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 5_000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    fs.rmSync(this.opts.socketPath, { force: true });
  }
}
