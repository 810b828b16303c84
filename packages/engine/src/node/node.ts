/**
 * A node process: hosts one pool (through a NodeBackend) and serves every
 * volume as an NBD export named after it, on loopback TCP and/or a Unix
 * socket, plus the admin endpoint. Volume lifecycle goes through here so the
 * export list always matches the pool.
 */
import type http from "node:http";
import { createAdminServer, type AdminOperations } from "../admin/server";
import { ADMIN_API_VERSION, type CreateVolumeRequest, type ScrubReport, type SnapshotDto, type StatusDto, type VolumeDto } from "../admin/schemas";
import { NbdServer } from "../nbd/server";
import type { NodeBackend } from "./backend";
import { createLogger, type Logger } from "../logger";

export interface HostPort {
  host: string;
  port: number;
}

export interface StowageNodeOptions {
  backend: NodeBackend;
  nbd?: HostPort;
  socket?: string;
  admin?: HostPort;
  logger?: Logger;
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export class StowageNode implements AdminOperations {
  readonly nbd: NbdServer;
  readonly addresses: { nbd?: string; socket?: string; admin?: string } = {};
  private adminServer: http.Server | undefined;
  private readonly log: Logger;

  private constructor(
    private readonly backend: NodeBackend,
    log: Logger,
  ) {
    this.log = log;
    this.nbd = new NbdServer({ logger: log.child({ component: "nbd" }) });
  }

  static async start(opts: StowageNodeOptions): Promise<StowageNode> {
    const log = opts.logger ?? createLogger();
    const node = new StowageNode(opts.backend, log);
    try {
      for (const volume of await opts.backend.listVolumes()) {
        node.nbd.addExport(volume.name, await opts.backend.openVolume(volume.name));
      }
      if (opts.nbd) node.addresses.nbd = formatHostPort(await node.nbd.listenTcp(opts.nbd.host, opts.nbd.port));
      if (opts.socket) {
        await node.nbd.listenUnix(opts.socket);
        node.addresses.socket = opts.socket;
      }
      if (opts.admin) node.addresses.admin = formatHostPort(await node.listenAdmin(opts.admin));
    } catch (err) {
      await node.close();
      throw err;
    }
    log.info({ pool: opts.backend.path, backend: opts.backend.kind, ...node.addresses }, "node serving");
    return node;
  }

  private async listenAdmin(address: HostPort): Promise<HostPort> {
    const server = createAdminServer(this, this.log.child({ component: "admin" }));
    this.adminServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("unexpected admin address");
    return { host: bound.address, port: bound.port };
  }

  async status(): Promise<StatusDto> {
    const capacity = await this.backend.capacity();
    const stats = this.nbd.stats;
    return {
      version: ADMIN_API_VERSION,
      pool: { path: this.backend.path, backend: this.backend.kind, ...capacity },
      nbd: {
        ...(this.addresses.nbd === undefined ? {} : { tcp: this.addresses.nbd }),
        ...(this.addresses.socket === undefined ? {} : { socket: this.addresses.socket }),
        exports: this.nbd.list().map((e) => e.name),
        connections: this.nbd.connectionCount,
        requests: stats.requests,
        bytesRead: stats.bytesRead,
        bytesWritten: stats.bytesWritten,
        errors: stats.errors,
      },
    };
  }

  listVolumes(): Promise<VolumeDto[]> {
    return this.backend.listVolumes();
  }

  async createVolume(request: CreateVolumeRequest): Promise<VolumeDto> {
    const volume = await this.backend.createVolume(request);
    this.nbd.addExport(volume.name, await this.backend.openVolume(volume.name));
    this.log.info({ volume: volume.name, size: volume.size, encrypted: volume.encrypted }, "volume created");
    return volume;
  }

  async deleteVolume(name: string): Promise<void> {
    // Disconnect clients first: their device is about to disappear under them.
    this.nbd.removeExport(name);
    await this.backend.deleteVolume(name);
    this.log.info({ volume: name }, "volume deleted");
  }

  listSnapshots(volume: string): Promise<SnapshotDto[]> {
    return this.backend.listSnapshots(volume);
  }

  async createSnapshot(volume: string, name: string): Promise<SnapshotDto> {
    const snapshot = await this.backend.createSnapshot(volume, name);
    this.log.info({ volume, snapshot: name }, "snapshot created");
    return snapshot;
  }

  async deleteSnapshot(volume: string, name: string): Promise<void> {
    await this.backend.deleteSnapshot(volume, name);
    this.log.info({ volume, snapshot: name }, "snapshot deleted");
  }

  async scrub(volume?: string): Promise<ScrubReport> {
    const report = await this.backend.scrub(volume);
    this.log.info({ volume, blocksChecked: report.blocksChecked, errors: report.errors, repaired: report.repaired }, "scrub finished");
    return report;
  }

  /** Stops the admin endpoint, drains NBD clients, then closes the pool. */
  async close(): Promise<void> {
    const admin = this.adminServer;
    if (admin) {
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    }
    await this.nbd.close();
    await this.backend.close();
  }
}
