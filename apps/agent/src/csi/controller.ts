/**
 * The CSI Controller service, served by the cluster role: volumes and
 * snapshots on the engine cluster through its ClusterAdminClient, and
 * publications in the controller's state file.
 */
import { status, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { EngineError, type ClusterAdminClient } from "@stowage/engine";
import { isValidSnapshotName, isValidVolumeName, OBJECT_NAME_RULE } from "@stowage/vocabulary";
import type { Logger } from "pino";
import { z } from "zod";
import type { ClusterNodeDto as EngineNode, ClusterVolumeDto as EngineVolume } from "@stowage/engine";
import { sizeFits, sizeFromRange, SIZE_GRANULARITY } from "./capacity";
import { isReadOnlyMode, unsupportedCapabilities, unsupportedCapability } from "./capabilities";
import type { ControllerState } from "./controller-state";
import { resolveContentSource, sameSource, type EngineSource } from "./content-source";
import { alreadyExists, CsiError, failedPrecondition, invalidArgument, notFound, resourceExhausted } from "./errors";
import {
  capabilityMessage,
  capabilitySchema,
  capacityRangeSchema,
  contentSourceSchema,
  pageSchema,
  required,
  stringMap,
  topologyRequirementSchema,
  topologySchema,
  type Capability,
} from "./messages";
import { paginate } from "./pagination";
import { parseParameters, type VolumeParameters } from "./parameters";
import { unary } from "./rpc";
import { freeBytes, nodeInTopology, targetCandidates } from "./topology";
import { parseSnapshotId } from "./snapshot-id";
import { snapshotMessage, volumeCondition, volumeMessage } from "./views";

/** publish_context keys: where the node plugin connects (the target's NBD address) and the export to ask for. */
export const PUBLISH_NBD_ADDRESS = "stowage.io/nbd-address";
export const PUBLISH_EXPORT_NAME = "stowage.io/export-name";
/** volume_context keys. */
export const CONTEXT_FS_TYPE = "stowage.io/fs-type";
export const CONTEXT_REPLICAS = "stowage.io/replicas";
export const CONTEXT_ENCRYPTED = "stowage.io/encrypted";

export interface ControllerOptions {
  engine: ClusterAdminClient;
  state: ControllerState;
  log: Logger;
  /** How long ControllerPublishVolume waits for the volume's target to serve it (default 20 s). */
  targetWaitMs?: number;
}

const capabilities = (field: string) =>
  z.array(capabilitySchema(`${field}[]`), { error: `${field} is required` }).min(1, `${field} is required`);

const createVolumeRequest = z.object({
  name: required("name"),
  capacity_range: capacityRangeSchema,
  volume_capabilities: capabilities("volume_capabilities"),
  parameters: stringMap,
  volume_content_source: contentSourceSchema,
  accessibility_requirements: topologyRequirementSchema,
});
const volumeIdRequest = z.object({ volume_id: required("volume_id") });
const publishRequest = z.object({
  volume_id: required("volume_id"),
  node_id: required("node_id"),
  volume_capability: capabilitySchema("volume_capability"),
  readonly: z.boolean().default(false),
});
const unpublishRequest = z.object({ volume_id: required("volume_id"), node_id: z.string().default("") });
const validateRequest = z.object({
  volume_id: required("volume_id"),
  volume_context: stringMap,
  volume_capabilities: capabilities("volume_capabilities"),
  parameters: stringMap,
});
const listRequest = z.object(pageSchema);
const capacityRequest = z.object({
  volume_capabilities: z.array(capabilitySchema("volume_capabilities[]")).default([]),
  parameters: stringMap,
  accessible_topology: topologySchema.nullish(),
});
const createSnapshotRequest = z.object({ source_volume_id: required("source_volume_id"), name: required("name"), parameters: stringMap });
const deleteSnapshotRequest = z.object({ snapshot_id: required("snapshot_id") });
const listSnapshotsRequest = z.object({ ...pageSchema, source_volume_id: z.string().default(""), snapshot_id: z.string().default("") });
const expandRequest = z.object({
  volume_id: required("volume_id"),
  capacity_range: capacityRangeSchema,
  volume_capability: capabilitySchema("volume_capability").nullish(),
});
const empty = z.object({}).passthrough();

const CONTROLLER_CAPABILITIES = [
  "CREATE_DELETE_VOLUME",
  "PUBLISH_UNPUBLISH_VOLUME",
  "LIST_VOLUMES",
  "GET_CAPACITY",
  "CREATE_DELETE_SNAPSHOT",
  "LIST_SNAPSHOTS",
  "PUBLISH_READONLY",
  "LIST_VOLUMES_PUBLISHED_NODES",
  "VOLUME_CONDITION",
  "GET_VOLUME",
  "SINGLE_NODE_MULTI_WRITER",
  "EXPAND_VOLUME",
  "CLONE_VOLUME",
] as const;

/** The context a volume gets at creation: what the node plugin needs to stage it. */
function createdContext(p: VolumeParameters, fsType: string): Record<string, string> {
  return { [CONTEXT_FS_TYPE]: fsType, [CONTEXT_REPLICAS]: String(p.replicas), [CONTEXT_ENCRYPTED]: String(p.encrypted) };
}

/** The context of a volume created elsewhere (or before the state file): what the engine knows. */
function engineContext(v: EngineVolume): Record<string, string> {
  return { [CONTEXT_REPLICAS]: String(v.replicasWanted), [CONTEXT_ENCRYPTED]: String(v.encrypted) };
}

/** The file system a mount capability asks for, reconciled with the parameters; INVALID_ARGUMENT when they disagree. */
function resolveFsType(caps: readonly Capability[], p: VolumeParameters): string {
  const asked = new Set(caps.flatMap((c) => (c.access.kind === "mount" && c.access.fsType !== "" ? [c.access.fsType] : [])));
  if (p.fsType) asked.add(p.fsType);
  if (asked.size > 1) throw invalidArgument(`fs_type: the capabilities and parameters ask for different file systems (${[...asked].join(", ")})`);
  return [...asked][0] ?? "ext4";
}

/** The r-th largest free space among nodes: the largest volume r replicas on distinct nodes can hold. */
function largestPlaceable(nodes: readonly EngineNode[], replicas: number): number {
  const free = nodes.map(freeBytes).sort((a, b) => b - a);
  return free[replicas - 1] ?? 0;
}

export class ControllerService {
  private readonly engine: ClusterAdminClient;
  private readonly state: ControllerState;

  constructor(private readonly opts: ControllerOptions) {
    this.engine = opts.engine;
    this.state = opts.state;
  }

  implementation(): UntypedServiceImplementation {
    const log = this.opts.log;
    return {
      CreateVolume: unary(log, "CreateVolume", createVolumeRequest, (r) => this.createVolume(r)),
      DeleteVolume: unary(log, "DeleteVolume", volumeIdRequest, (r) => this.deleteVolume(r.volume_id)),
      ControllerPublishVolume: unary(log, "ControllerPublishVolume", publishRequest, (r) => this.publish(r)),
      ControllerUnpublishVolume: unary(log, "ControllerUnpublishVolume", unpublishRequest, (r) => this.unpublish(r.volume_id, r.node_id)),
      ValidateVolumeCapabilities: unary(log, "ValidateVolumeCapabilities", validateRequest, (r) => this.validate(r)),
      ListVolumes: unary(log, "ListVolumes", listRequest, (r) => this.listVolumes(r.max_entries, r.starting_token)),
      GetCapacity: unary(log, "GetCapacity", capacityRequest, (r) => this.capacity(r)),
      ControllerGetCapabilities: unary(log, "ControllerGetCapabilities", empty, () =>
        Promise.resolve({ capabilities: CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } })) }),
      ),
      CreateSnapshot: unary(log, "CreateSnapshot", createSnapshotRequest, (r) => this.createSnapshot(r.source_volume_id, r.name)),
      DeleteSnapshot: unary(log, "DeleteSnapshot", deleteSnapshotRequest, (r) => this.deleteSnapshot(r.snapshot_id)),
      ListSnapshots: unary(log, "ListSnapshots", listSnapshotsRequest, (r) => this.listSnapshots(r)),
      ControllerExpandVolume: unary(log, "ControllerExpandVolume", expandRequest, (r) => this.expand(r)),
      ControllerGetVolume: unary(log, "ControllerGetVolume", volumeIdRequest, (r) => this.getVolume(r.volume_id)),
    };
  }

  private async contextOf(v: EngineVolume): Promise<Record<string, string>> {
    return (await this.state.context(v.id)) ?? engineContext(v);
  }

  private async createVolume(r: z.output<typeof createVolumeRequest>) {
    if (!isValidVolumeName(r.name)) throw invalidArgument(`name ${r.name} is not a valid volume name: ${OBJECT_NAME_RULE}`);
    const params = parseParameters(r.parameters);
    const why = unsupportedCapabilities(r.volume_capabilities);
    if (why) throw invalidArgument(`volume_capabilities: ${why}`);
    const fsType = resolveFsType(r.volume_capabilities, params);
    const size = sizeFromRange(r.capacity_range);
    const source = r.volume_content_source ? await resolveContentSource(this.engine, r.volume_content_source, size) : null;

    // Both reads at once: a new name (the usual case) needs the nodes too, and each is a round trip.
    const [existing, nodes] = await Promise.all([this.engine.volume(r.name), this.engine.nodes()]);
    if (existing) return { volume: await this.existingVolume(existing, r.capacity_range, size, params, source?.source ?? null) };

    const candidates = targetCandidates(nodes, r.accessibility_requirements);
    if (candidates.length === 0) throw resourceExhausted("accessibility_requirements: no Stowage node is in any requisite topology");
    const placeable = largestPlaceable(nodes, params.replicas);
    if (placeable < size) {
      throw resourceExhausted(
        `capacity: ${size} bytes on ${params.replicas} node(s) is needed but the largest volume ${params.replicas} replica(s) fit is ${placeable} bytes (free per node: ${nodes.map((n) => `${n.id}=${freeBytes(n)}`).join(", ")})`,
      );
    }
    // A restore or clone copies on a node holding the source: local reads, when the topology allows it.
    const holders = new Set(source?.volume.replicas.map((x) => x.nodeId) ?? []);
    const target = candidates.find((n) => holders.has(n.id)) ?? candidates[0];
    if (!target) throw resourceExhausted("no node can serve the volume");
    const context = createdContext(params, fsType);
    let created: EngineVolume;
    try {
      created = await this.engine.createVolume({
        name: r.name,
        size,
        replicas: params.replicas,
        target: target.id,
        ...(params.zoneSpread && params.replicas > 1 ? { distinctZones: true } : {}),
        ...(params.encrypted ? { encrypted: true } : {}),
        // The copy runs on; a publish waits until the volume is served (populated). A CO's
        // CreateVolume deadline is seconds, a copy can take minutes, and a retry is idempotent.
        ...(source ? { source: source.source, wait: false } : {}),
      });
    } catch (err) {
      // Two creates of one name racing: the loser answers like a retry.
      const raced = err instanceof EngineError && err.code === "EXISTS" ? await this.engine.volume(r.name) : null;
      if (raced) return { volume: await this.existingVolume(raced, r.capacity_range, size, params, source?.source ?? null) };
      throw err;
    }
    const kept = await this.state.rememberContext(created.id, context);
    return { volume: volumeMessage(created, kept, nodes) };
  }

  /** The answer to a create of a name that exists: the volume when it is what was asked for, else ALREADY_EXISTS. */
  private async existingVolume(v: EngineVolume, range: z.output<typeof capacityRangeSchema>, size: number, params: VolumeParameters, source: EngineSource | null) {
    const sameSize = range ? sizeFits(v.sizeBytes, range) : v.sizeBytes === size;
    if (!sameSize) throw alreadyExists(`volume ${v.id} exists with ${v.sizeBytes} bytes, not the ${size} asked for`);
    if (v.replicasWanted !== params.replicas) throw alreadyExists(`volume ${v.id} exists with ${v.replicasWanted} replicas, not ${params.replicas}`);
    if (v.encrypted !== params.encrypted) throw alreadyExists(`volume ${v.id} exists ${v.encrypted ? "encrypted" : "unencrypted"}`);
    if (!sameSource(v.source, source)) throw alreadyExists(`volume ${v.id} exists with another content source`);
    return volumeMessage(v, await this.contextOf(v), await this.engine.nodes());
  }

  private async deleteVolume(volumeId: string) {
    const v = await this.engine.volume(volumeId);
    if (!v) {
      await this.state.forget(volumeId);
      return {};
    }
    const published = await this.state.publications(volumeId);
    if (published.length > 0) throw failedPrecondition(`volume ${volumeId} is published to node(s) ${published.map((p) => p.nodeId).join(", ")}: unpublish it first`);
    await this.engine.deleteVolume(volumeId).catch((err: unknown) => {
      // Deleted meanwhile: deleting is idempotent.
      if (!(err instanceof EngineError && err.code === "NOT_FOUND")) throw err;
    });
    await this.state.forget(volumeId);
    return {};
  }

  private async publish(r: z.output<typeof publishRequest>) {
    const why = unsupportedCapability(r.volume_capability);
    if (why) throw invalidArgument(`volume_capability: ${why}`);
    const v = await this.engine.volume(r.volume_id);
    if (!v) throw notFound(`volume ${r.volume_id} does not exist`);
    const nodes = await this.engine.nodes();
    if (!nodes.some((n) => n.id === r.node_id)) throw notFound(`node ${r.node_id} is not a Stowage node`);
    const served = await this.waitServed(v, nodes);
    const outcome = await this.state.publish({
      volumeId: r.volume_id,
      nodeId: r.node_id,
      readonly: r.readonly || isReadOnlyMode(r.volume_capability.mode),
      mode: r.volume_capability.mode,
      accessType: r.volume_capability.access.kind,
    });
    switch (outcome.kind) {
      case "published":
      case "already":
        return { publish_context: { [PUBLISH_NBD_ADDRESS]: served, [PUBLISH_EXPORT_NAME]: v.id } };
      case "conflict":
        throw alreadyExists(`volume ${r.volume_id} is published to node ${r.node_id} with another capability or readonly flag`);
      case "elsewhere":
        throw failedPrecondition(`volume ${r.volume_id} is already published to node ${outcome.nodeIds.join(", ")}; a Stowage volume is attached on one node at a time`);
    }
  }

  /** The NBD address of the volume's target once the target serves it (a new volume's target attaches asynchronously). */
  private async waitServed(v: EngineVolume, nodes: readonly EngineNode[]): Promise<string> {
    const deadline = Date.now() + (this.opts.targetWaitMs ?? 20_000);
    let current = v;
    for (;;) {
      const target = nodes.find((n) => n.id === current.target);
      if (current.nbd && target?.admin) {
        const serving = await this.engine.targetStatus(target.admin, current.id).then(
          () => true,
          () => false,
        );
        if (serving) return current.nbd;
      }
      if (Date.now() > deadline) throw new CsiError(status.UNAVAILABLE, `volume ${v.id} has no target serving it yet (target ${current.target ?? "none"})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      current = (await this.engine.volume(v.id)) ?? current;
    }
  }

  private async unpublish(volumeId: string, nodeId: string) {
    // An unknown volume or node is safely unpublished: the spec asks for OK.
    await this.state.unpublish(volumeId, nodeId === "" ? undefined : nodeId);
    return {};
  }

  private async validate(r: z.output<typeof validateRequest>) {
    const v = await this.engine.volume(r.volume_id);
    if (!v) throw notFound(`volume ${r.volume_id} does not exist`);
    parseParameters(r.parameters);
    const why = unsupportedCapabilities(r.volume_capabilities);
    if (why) return { confirmed: null, message: why };
    return { confirmed: { volume_context: r.volume_context, volume_capabilities: r.volume_capabilities.map(capabilityMessage), parameters: r.parameters }, message: "" };
  }

  private async volumeStatus(v: EngineVolume) {
    return { published_node_ids: (await this.state.publications(v.id)).map((p) => p.nodeId), volume_condition: volumeCondition(v) };
  }

  private async listVolumes(maxEntries: number, startingToken: string) {
    const [volumes, nodes, contexts, publications] = await Promise.all([this.engine.volumes(), this.engine.nodes(), this.state.contexts(), this.state.publications()]);
    const page = paginate(
      [...volumes].sort((a, b) => a.id.localeCompare(b.id)),
      maxEntries,
      startingToken,
    );
    return {
      entries: page.items.map((v) => ({
        volume: volumeMessage(v, contexts[v.id] ?? engineContext(v), nodes),
        status: { published_node_ids: publications.filter((p) => p.volumeId === v.id).map((p) => p.nodeId), volume_condition: volumeCondition(v) },
      })),
      next_token: page.nextToken,
    };
  }

  private async getVolume(volumeId: string) {
    const v = await this.engine.volume(volumeId);
    if (!v) throw notFound(`volume ${volumeId} does not exist`);
    return { volume: volumeMessage(v, await this.contextOf(v), await this.engine.nodes()), status: await this.volumeStatus(v) };
  }

  private async capacity(r: z.output<typeof capacityRequest>) {
    const params = parseParameters(r.parameters);
    const nodes = await this.engine.nodes();
    const none = { available_capacity: "0", maximum_volume_size: { value: "0" }, minimum_volume_size: { value: String(SIZE_GRANULARITY) } };
    if (unsupportedCapabilities(r.volume_capabilities)) return none;
    const segments = r.accessible_topology?.segments ?? {};
    const inSegment = nodes.filter((n) => nodeInTopology(n, segments));
    if (inSegment.length === 0) return none;
    // The segment's free space; a volume's other replicas may land outside it, so the largest volume is a cluster-wide figure.
    const available = inSegment.reduce((sum, n) => sum + freeBytes(n), 0);
    const largest = Math.min(available, largestPlaceable(nodes, params.replicas));
    return { available_capacity: String(available), maximum_volume_size: { value: String(largest) }, minimum_volume_size: { value: String(SIZE_GRANULARITY) } };
  }

  /**
   * Grows the volume in the engine. Expansion is OFFLINE (identity.ts): a
   * volume still published is refused, since its node could not see the new
   * size until it stages the volume again.
   */
  private async expand(r: z.output<typeof expandRequest>) {
    if (!r.capacity_range) throw invalidArgument("capacity_range is required");
    const v = await this.engine.volume(r.volume_id);
    if (!v) throw notFound(`volume ${r.volume_id} does not exist`);
    const size = sizeFromRange(r.capacity_range);
    const nodeExpansion = r.volume_capability?.access.kind !== "block";
    if (size <= v.sizeBytes) return { capacity_bytes: String(v.sizeBytes), node_expansion_required: nodeExpansion };
    const published = await this.state.publications(v.id);
    if (published.length > 0) {
      throw failedPrecondition(`volume ${v.id} is published to node(s) ${published.map((p) => p.nodeId).join(", ")}: Stowage expands volumes offline, unpublish it first`);
    }
    const grown = await this.engine.expandVolume(v.id, size);
    return { capacity_bytes: String(grown.sizeBytes), node_expansion_required: nodeExpansion };
  }

  private async createSnapshot(sourceVolumeId: string, name: string) {
    if (!isValidSnapshotName(name)) throw invalidArgument(`name ${name} is not a valid snapshot name: ${OBJECT_NAME_RULE}`);
    const volumes = await this.engine.volumes();
    for (const other of volumes) {
      const s = other.snapshots.find((x) => x.name === name);
      if (!s) continue;
      if (other.id !== sourceVolumeId) throw alreadyExists(`snapshot ${name} exists for volume ${other.id}, not ${sourceVolumeId}`);
      return { snapshot: snapshotMessage(other, s) };
    }
    const v = volumes.find((x) => x.id === sourceVolumeId);
    if (!v) throw notFound(`source volume ${sourceVolumeId} does not exist`);
    // The snapshot is taken by the volume's target: a volume created a moment ago may not be served yet.
    await this.waitServed(v, await this.engine.nodes());
    const s = await this.engine.createSnapshot(v.id, name);
    return { snapshot: snapshotMessage(v, s) };
  }

  private async deleteSnapshot(id: string) {
    const ref = parseSnapshotId(id);
    // An id we could never have given names no snapshot: deleting it is done.
    if (!ref) return {};
    const v = await this.engine.volume(ref.volume);
    if (!v || !v.snapshots.some((s) => s.name === ref.snapshot)) return {};
    await this.engine.deleteSnapshot(ref.volume, ref.snapshot);
    return {};
  }

  private async listSnapshots(r: z.output<typeof listSnapshotsRequest>) {
    let volumes = await this.engine.volumes();
    let wanted: string | null = null;
    if (r.snapshot_id !== "") {
      const ref = parseSnapshotId(r.snapshot_id);
      if (!ref) return { entries: [], next_token: "" };
      volumes = volumes.filter((v) => v.id === ref.volume);
      wanted = ref.snapshot;
    }
    if (r.source_volume_id !== "") volumes = volumes.filter((v) => v.id === r.source_volume_id);
    const all = volumes
      .flatMap((v) => v.snapshots.filter((s) => wanted === null || s.name === wanted).map((s) => snapshotMessage(v, s)))
      .sort((a, b) => a.snapshot_id.localeCompare(b.snapshot_id));
    const page = paginate(all, r.max_entries, r.starting_token);
    return { entries: page.items.map((snapshot) => ({ snapshot })), next_token: page.nextToken };
  }
}
