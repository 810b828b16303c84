/**
 * Commands from the control plane carried out on an engine cluster. Delivery
 * is at least once, so every command is idempotent by what it names: a
 * volume is created once per name, deleting a missing volume succeeds.
 */
import type { Command } from "@stowage/agent-protocol";
import { EngineError, type ClusterAdminClient } from "@stowage/engine";
import { OBJECT_NAME_RULE, isValidSnapshotName, isValidVolumeName } from "@stowage/vocabulary";
import type { EngineNode, EngineSnapshot, EngineVolume } from "./engine-admin";
import { snapshotId } from "./telemetry";
import type { CommandExecutor, CommandProgress } from "../uplink/uplink";

const BLOCK = 4096;

export class CommandRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandRejected";
  }
}

/** The node that should serve a new volume: the least provisioned live node, ties by id. */
export function pickTarget(nodes: EngineNode[]): string | undefined {
  return [...nodes].sort((a, b) => a.provisionedBytes - b.provisionedBytes || a.id.localeCompare(b.id))[0]?.id;
}

export function volumeResult(v: EngineVolume): Record<string, unknown> {
  return { volumeId: v.id, sizeBytes: v.sizeBytes, targetNodeId: v.target, replicaNodeIds: v.replicas.map((r) => r.nodeId) };
}

export function snapshotResult(volumeId: string, s: EngineSnapshot): Record<string, unknown> {
  return { snapshotId: snapshotId(volumeId, s.name), volumeId, name: s.name, createdAt: s.createdAt, copies: s.replicaIds.length };
}

export class EngineCommandExecutor implements CommandExecutor {
  constructor(private readonly admin: ClusterAdminClient) {}

  async execute(command: Command, progress: CommandProgress): Promise<Record<string, unknown>> {
    switch (command.type) {
      case "volume.create":
        return this.createVolume(command.params, progress);
      case "volume.delete":
        return this.deleteVolume(command.params.volumeId);
      case "snapshot.create":
        return this.createSnapshot(command.params, progress);
    }
  }

  /**
   * Idempotent by name: a snapshot of that name on the volume is the one an
   * earlier delivery of this command took, so it is reported, not retaken.
   */
  private async createSnapshot(p: Extract<Command, { type: "snapshot.create" }>["params"], progress: CommandProgress): Promise<Record<string, unknown>> {
    if (!isValidSnapshotName(p.name)) throw new CommandRejected(`snapshot name "${p.name}" is not valid: use ${OBJECT_NAME_RULE}`);
    const volume = await this.admin.volume(p.volumeId);
    if (!volume) throw new CommandRejected(`volume ${p.volumeId} does not exist in this cluster; no snapshot was taken`);
    const existing = volume.snapshots.find((s) => s.name === p.name);
    if (existing) return snapshotResult(p.volumeId, existing);
    await progress(0.3, "pausing writes and flushing replicas");
    try {
      return snapshotResult(p.volumeId, await this.admin.createSnapshot(p.volumeId, p.name));
    } catch (err) {
      if (err instanceof EngineError && err.code === "EXISTS") {
        const again = (await this.admin.snapshots(p.volumeId)).find((s) => s.name === p.name);
        if (again) return snapshotResult(p.volumeId, again);
      }
      if (err instanceof EngineError && (err.code === "INVALID" || err.code === "NOT_FOUND" || err.code === "NO_SPACE")) throw new CommandRejected(err.message);
      throw err;
    }
  }

  private async createVolume(p: Extract<Command, { type: "volume.create" }>["params"], progress: CommandProgress): Promise<Record<string, unknown>> {
    if (!isValidVolumeName(p.name)) throw new CommandRejected(`volume name "${p.name}" is not valid: use ${OBJECT_NAME_RULE}`);
    if (p.sizeBytes <= 0 || p.sizeBytes % BLOCK !== 0) throw new CommandRejected(`size must be a positive multiple of ${BLOCK} bytes, got ${p.sizeBytes}`);
    const existing = await this.admin.volume(p.name);
    if (existing) return this.sameOrConflict(existing, p);
    const nodes = await this.admin.nodes();
    if (nodes.length < p.replicas) throw new CommandRejected(`${p.replicas} replicas need ${p.replicas} live nodes; the cluster has ${nodes.length}`);
    await progress(0.1, "placing replicas");
    const target = pickTarget(nodes);
    try {
      const created = await this.admin.createVolume({
        name: p.name,
        size: p.sizeBytes,
        replicas: p.replicas,
        ...(target === undefined ? {} : { target }),
        ...(p.encrypted ? { encrypted: true } : {}),
      });
      return volumeResult(created);
    } catch (err) {
      // A concurrent or earlier delivery of the same command got there first.
      if (err instanceof EngineError && err.code === "EXISTS") {
        const now = await this.admin.volume(p.name);
        if (now) return this.sameOrConflict(now, p);
      }
      if (err instanceof EngineError && (err.code === "INVALID" || err.code === "NO_SPACE")) throw new CommandRejected(err.message);
      throw err;
    }
  }

  private sameOrConflict(v: EngineVolume, p: { name: string; sizeBytes: number; replicas: number; encrypted: boolean }): Record<string, unknown> {
    if (v.sizeBytes !== p.sizeBytes || v.replicasWanted !== p.replicas || v.encrypted !== p.encrypted) {
      throw new CommandRejected(
        `a volume named "${p.name}" already exists with ${v.sizeBytes} bytes and ${v.replicasWanted} replicas, ${v.encrypted ? "encrypted" : "not encrypted"}`,
      );
    }
    return volumeResult(v);
  }

  private async deleteVolume(volumeId: string): Promise<Record<string, unknown>> {
    try {
      await this.admin.deleteVolume(volumeId);
      return { volumeId, deleted: true };
    } catch (err) {
      if (err instanceof EngineError && err.code === "NOT_FOUND") return { volumeId, deleted: true, alreadyGone: true };
      throw err;
    }
  }
}
