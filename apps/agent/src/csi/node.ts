/**
 * The CSI Node service, served by the node role: stage attaches the volume's
 * NBD export as a block device and mounts its file system at the staging
 * path; publish bind-mounts that (or the device itself, for raw block) at the
 * workload's target path. Every RPC is idempotent as the spec asks, and
 * calls for one volume run one at a time.
 */
import fs from "node:fs";
import path from "node:path";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { z } from "zod";
import { attacherFor, chooseAttacher, type BlockAttacher } from "./attach/attacher";
import { detectFs, growExtOffline, growFs, makeFs } from "./attach/filesystem";
import { blockDeviceSize } from "./attach/loop";
import { mount, mountAt, unmountAll } from "./attach/mounts";
import { AttachState, type StagedVolume } from "./attach-state";
import { isFsType, isReadOnlyMode, unsupportedCapability } from "./capabilities";
import { CONTEXT_FS_TYPE, PUBLISH_EXPORT_NAME, PUBLISH_NBD_ADDRESS } from "./controller";
import { alreadyExists, failedPrecondition, internal, invalidArgument, notFound, outOfRange } from "./errors";
import { capabilitySchema, capacityRangeSchema, required, stringMap, type Capability } from "./messages";
import { unary } from "./rpc";
import { nodeSegments } from "./topology";

export interface NodeServiceOptions {
  /** The engine node id of this node (CSI node_id). */
  nodeId: string;
  zone?: string | undefined;
  rack?: string | undefined;
  /** Attach state, FUSE mount points and nbdfuse logs live here. */
  stateDir: string;
  maxVolumesPerNode?: number;
  log: Logger;
}

const stageRequest = z.object({
  volume_id: required("volume_id"),
  publish_context: stringMap,
  staging_target_path: required("staging_target_path"),
  volume_capability: capabilitySchema("volume_capability"),
  volume_context: stringMap,
});
const unstageRequest = z.object({ volume_id: required("volume_id"), staging_target_path: required("staging_target_path") });
const publishRequest = z.object({
  volume_id: required("volume_id"),
  staging_target_path: required("staging_target_path"),
  target_path: required("target_path"),
  volume_capability: capabilitySchema("volume_capability"),
  readonly: z.boolean().default(false),
});
const unpublishRequest = z.object({ volume_id: required("volume_id"), target_path: required("target_path") });
const statsRequest = z.object({ volume_id: required("volume_id"), volume_path: required("volume_path"), staging_target_path: z.string().default("") });
const expandRequest = z.object({
  volume_id: required("volume_id"),
  volume_path: required("volume_path"),
  capacity_range: capacityRangeSchema,
  staging_target_path: z.string().default(""),
});
const empty = z.object({}).passthrough();

const NODE_CAPABILITIES = ["STAGE_UNSTAGE_VOLUME", "GET_VOLUME_STATS", "EXPAND_VOLUME", "VOLUME_CONDITION", "SINGLE_NODE_MULTI_WRITER"] as const;

function stagedFsType(c: Capability, context: Record<string, string>): string {
  if (c.access.kind !== "mount") return "";
  const fs = c.access.fsType || context[CONTEXT_FS_TYPE] || "ext4";
  if (!isFsType(fs)) throw invalidArgument(`volume_capability.mount.fs_type: ${fs} is not supported (use ext4 or xfs)`);
  return fs;
}

export class NodeService {
  private readonly state: AttachState;
  private attacher: BlockAttacher | null = null;
  /** Volumes whose attachment broke while this process watched it (nbdfuse exited). */
  private readonly lost = new Map<string, string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly log: Logger;

  constructor(private readonly opts: NodeServiceOptions) {
    this.state = new AttachState(opts.stateDir);
    this.log = opts.log;
  }

  implementation(): UntypedServiceImplementation {
    const log = this.log;
    return {
      NodeStageVolume: unary(log, "NodeStageVolume", stageRequest, (r) => this.locked(r.volume_id, () => this.stage(r))),
      NodeUnstageVolume: unary(log, "NodeUnstageVolume", unstageRequest, (r) => this.locked(r.volume_id, () => this.unstage(r.volume_id, r.staging_target_path))),
      NodePublishVolume: unary(log, "NodePublishVolume", publishRequest, (r) => this.locked(r.volume_id, () => this.publish(r))),
      NodeUnpublishVolume: unary(log, "NodeUnpublishVolume", unpublishRequest, (r) => this.locked(r.volume_id, () => this.unpublish(r.volume_id, r.target_path))),
      NodeGetVolumeStats: unary(log, "NodeGetVolumeStats", statsRequest, (r) => this.stats(r.volume_id, r.volume_path)),
      NodeExpandVolume: unary(log, "NodeExpandVolume", expandRequest, (r) => this.locked(r.volume_id, () => this.expand(r))),
      NodeGetCapabilities: unary(log, "NodeGetCapabilities", empty, () => Promise.resolve({ capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) })),
      NodeGetInfo: unary(log, "NodeGetInfo", empty, () =>
        Promise.resolve({
          node_id: this.opts.nodeId,
          max_volumes_per_node: String(this.opts.maxVolumesPerNode ?? 128),
          accessible_topology: { segments: nodeSegments({ id: this.opts.nodeId, zone: this.opts.zone, rack: this.opts.rack }) },
        }),
      ),
    };
  }

  /** Every staged volume, unpublished and unstaged: for tests and for draining a node. */
  async unstageAll(): Promise<void> {
    for (const v of await this.state.all()) {
      for (const p of v.publications) await this.unpublish(v.volumeId, p.targetPath);
      await this.unstage(v.volumeId, v.stagingPath);
    }
  }

  private locked<T>(volumeId: string, run: () => Promise<T>): Promise<T> {
    const before = this.locks.get(volumeId) ?? Promise.resolve();
    const next = before.then(run, run);
    const settled = next.catch(() => undefined);
    this.locks.set(volumeId, settled);
    void settled.then(() => {
      if (this.locks.get(volumeId) === settled) this.locks.delete(volumeId);
    });
    return next;
  }

  private async attacherForNew(): Promise<BlockAttacher> {
    this.attacher ??= await chooseAttacher(this.opts.stateDir, (id, why) => this.markLost(id, why));
    return this.attacher;
  }

  private markLost(volumeId: string, why: string): void {
    this.lost.set(volumeId, why);
    this.log.error({ volumeId, why }, "a staged volume lost its block device");
  }

  private async stage(r: z.output<typeof stageRequest>) {
    const why = unsupportedCapability(r.volume_capability);
    if (why) throw invalidArgument(`volume_capability: ${why}`);
    const address = r.publish_context[PUBLISH_NBD_ADDRESS];
    if (!address) throw invalidArgument(`publish_context ${PUBLISH_NBD_ADDRESS} is required (ControllerPublishVolume gives it)`);
    const exportName = r.publish_context[PUBLISH_EXPORT_NAME] || r.volume_id;
    const fsType = stagedFsType(r.volume_capability, r.volume_context);
    const access = r.volume_capability.access;
    const mountFlags = access.kind === "mount" ? access.mountFlags : [];

    const existing = await this.state.get(r.volume_id);
    if (existing) {
      const same = existing.stagingPath === r.staging_target_path && existing.accessType === access.kind && existing.fsType === fsType && existing.mountFlags.join(",") === mountFlags.join(",");
      if (!same) throw alreadyExists(`volume ${r.volume_id} is already staged at ${existing.stagingPath} as ${existing.accessType}${existing.fsType ? ` (${existing.fsType})` : ""}`);
      if (existing.attachment && (existing.accessType === "block" || (await mountAt(existing.stagingPath)))) return {};
      // A stage that failed half-way: undo what it did and start again.
      await this.teardown(existing);
    }

    const record: StagedVolume = {
      volumeId: r.volume_id,
      stagingPath: r.staging_target_path,
      accessType: access.kind,
      fsType,
      mountFlags,
      address,
      exportName,
      attachment: null,
      mountedFs: null,
      publications: [],
    };
    await this.state.put(record);
    try {
      this.lost.delete(r.volume_id);
      record.attachment = await (await this.attacherForNew()).attach({ volumeId: r.volume_id, address, exportName });
      await this.state.put(record);
      fs.mkdirSync(r.staging_target_path, { recursive: true });
      if (access.kind === "mount" && isFsType(fsType)) {
        const device = record.attachment.device;
        const found = await detectFs(device);
        if (found === null) await makeFs(device, fsType);
        const mountFs = found ?? fsType;
        await mount("mount: mount the file system at the staging path", ["-t", mountFs, ...(mountFlags.length > 0 ? ["-o", mountFlags.join(",")] : []), device, r.staging_target_path]);
        record.mountedFs = mountFs;
        await this.state.put(record);
      }
    } catch (err) {
      await this.teardown(record).catch((cleanup: unknown) => this.log.error({ volumeId: r.volume_id, error: String(cleanup) }, "cleaning up a failed stage failed"));
      throw err;
    }
    this.log.info({ volumeId: r.volume_id, device: record.attachment.device, fs: record.mountedFs }, "volume staged");
    return {};
  }

  /** Unmounts and detaches whatever the record holds, then forgets it. */
  private async teardown(v: StagedVolume): Promise<void> {
    for (const p of v.publications) await unmountAll("umount: unmount a target path", p.targetPath);
    if (v.accessType === "mount") await unmountAll("umount: unmount the staging path", v.stagingPath);
    if (v.attachment) await attacherFor(v.attachment, this.opts.stateDir, (id, why) => this.markLost(id, why)).detach(v.attachment);
    await this.state.remove(v.volumeId);
    this.lost.delete(v.volumeId);
  }

  private async unstage(volumeId: string, stagingPath: string) {
    const v = await this.state.get(volumeId);
    if (!v) {
      // Not staged by us (or already unstaged): make sure nothing is left mounted there.
      await unmountAll("umount: unmount the staging path", stagingPath);
      return {};
    }
    if (v.stagingPath !== stagingPath) throw notFound(`volume ${volumeId} is staged at ${v.stagingPath}, not ${stagingPath}`);
    await this.teardown(v);
    this.log.info({ volumeId }, "volume unstaged");
    return {};
  }

  private async publish(r: z.output<typeof publishRequest>) {
    const why = unsupportedCapability(r.volume_capability);
    if (why) throw invalidArgument(`volume_capability: ${why}`);
    const v = await this.state.get(r.volume_id);
    if (!v?.attachment || v.stagingPath !== r.staging_target_path) throw failedPrecondition(`volume ${r.volume_id} is not staged at ${r.staging_target_path}`);
    if (v.accessType !== r.volume_capability.access.kind) throw alreadyExists(`volume ${r.volume_id} is staged as ${v.accessType}, not ${r.volume_capability.access.kind}`);
    const readonly = r.readonly || isReadOnlyMode(r.volume_capability.mode);
    const published = v.publications.find((p) => p.targetPath === r.target_path);
    if (published && (await mountAt(r.target_path))) {
      if (published.readonly !== readonly) throw alreadyExists(`volume ${r.volume_id} is published at ${r.target_path} ${published.readonly ? "read-only" : "read-write"}`);
      return {};
    }
    const source = v.accessType === "block" ? v.attachment.device : v.stagingPath;
    if (v.accessType === "block") {
      // Raw block: the device node bind-mounted onto a file at the target path.
      fs.mkdirSync(path.dirname(r.target_path), { recursive: true });
      fs.closeSync(fs.openSync(r.target_path, "a"));
    } else {
      fs.mkdirSync(r.target_path, { recursive: true });
    }
    await mount("mount: bind the volume at the target path", ["--bind", source, r.target_path]);
    if (readonly) await mount("mount: make the target path read-only", ["-o", "remount,bind,ro", r.target_path]);
    await this.state.put({ ...v, publications: [...v.publications.filter((p) => p.targetPath !== r.target_path), { targetPath: r.target_path, readonly }] });
    return {};
  }

  private async unpublish(volumeId: string, targetPath: string) {
    await unmountAll("umount: unmount the target path", targetPath);
    // The spec has the SP remove what it made at the target path: a directory (mount) or a file (block).
    const made = fs.lstatSync(targetPath, { throwIfNoEntry: false });
    if (made?.isDirectory()) fs.rmdirSync(targetPath);
    else if (made) fs.unlinkSync(targetPath);
    const v = await this.state.get(volumeId);
    if (v) await this.state.put({ ...v, publications: v.publications.filter((p) => p.targetPath !== targetPath) });
    return {};
  }

  private condition(v: StagedVolume): { abnormal: boolean; message: string } {
    const lost = this.lost.get(v.volumeId);
    const problem = lost ?? (v.attachment ? attacherFor(v.attachment, this.opts.stateDir, () => undefined).problem(v.attachment) : "not attached");
    return problem ? { abnormal: true, message: problem } : { abnormal: false, message: "attached" };
  }

  private async stats(volumeId: string, volumePath: string) {
    if (!fs.existsSync(volumePath)) throw notFound(`volume_path ${volumePath} does not exist`);
    const v = await this.state.get(volumeId);
    if (!v?.attachment) throw notFound(`volume ${volumeId} is not staged on this node`);
    const known = v.stagingPath === volumePath || v.publications.some((p) => p.targetPath === volumePath);
    if (!known) throw notFound(`volume ${volumeId} is not staged or published at ${volumePath}`);
    const condition = this.condition(v);
    if (v.accessType === "block") {
      return { usage: [{ unit: "BYTES", total: String(blockDeviceSize(v.attachment.device)), available: "0", used: "0" }], volume_condition: condition };
    }
    const s = await fs.promises.statfs(volumePath).catch((err: unknown) => {
      throw internal(`statfs ${volumePath}: ${err instanceof Error ? err.message : String(err)}`);
    });
    const total = s.blocks * s.bsize;
    return {
      usage: [
        { unit: "BYTES", total: String(total), available: String(s.bavail * s.bsize), used: String(total - s.bfree * s.bsize) },
        { unit: "INODES", total: String(s.files), available: String(s.ffree), used: String(s.files - s.ffree) },
      ],
      volume_condition: condition,
    };
  }

  private async expand(r: z.output<typeof expandRequest>) {
    const v = await this.state.get(r.volume_id);
    if (!v?.attachment) throw notFound(`volume ${r.volume_id} is not staged on this node`);
    const size = blockDeviceSize(v.attachment.device);
    // OFFLINE expansion (identity.ts): the device has its new size only after a fresh stage.
    if (r.capacity_range && r.capacity_range.requiredBytes > size) {
      throw outOfRange(`the attached device is ${size} bytes, below the ${r.capacity_range.requiredBytes} asked for: expansion is offline, so unstage and stage the volume again after ControllerExpandVolume`);
    }
    if (v.accessType === "mount" && v.mountedFs) await this.growMounted(v, v.attachment.device, v.mountedFs);
    return { capacity_bytes: String(size) };
  }

  /**
   * Online growth first. ext4's online resize needs CAP_SYS_RESOURCE; where it
   * is refused and nothing is published yet (the CO expands right after
   * staging), the staging mount is taken down, grown offline and mounted again.
   */
  private async growMounted(v: StagedVolume, device: string, fsType: string): Promise<void> {
    try {
      await growFs(fsType, device, v.stagingPath);
    } catch (err) {
      if (!fsType.startsWith("ext") || v.publications.length > 0) throw err;
      this.log.info({ volumeId: v.volumeId, error: err instanceof Error ? err.message : String(err) }, "online growth refused; growing the unmounted file system");
      await unmountAll("umount: unmount the staging path to grow it", v.stagingPath);
      try {
        await growExtOffline(device);
      } finally {
        await mount("mount: mount the grown file system at the staging path", ["-t", fsType, ...(v.mountFlags.length > 0 ? ["-o", v.mountFlags.join(",")] : []), device, v.stagingPath]);
      }
    }
  }
}
