/**
 * A NodeBackend over plain files: one sparse file per volume, snapshots as
 * file copies (reflinks where the filesystem has them). No checksums and no
 * encryption. It exists to exercise the node, admin API and CLI without the
 * storage core, and as a plain-file reference in frontend tests.
 */
import { constants } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BlockDevice } from "../../block-device";
import type { CreateVolumeRequest, ScrubReport, SnapshotDto, VolumeDto } from "../../admin/schemas";
import { FileBlockDevice } from "../../nbd/testing/file-device";
import { NodeError, type NodeBackend } from "../backend";

interface Catalog {
  volumes: Record<string, { size: number; snapshots: Array<{ name: string; createdAt: string }> }>;
}

export class FileBackend implements NodeBackend {
  readonly kind = "file";
  private catalog: Catalog = { volumes: {} };
  private readonly open = new Map<string, FileBlockDevice>();

  private constructor(readonly path: string) {}

  static async open(dir: string): Promise<FileBackend> {
    const backend = new FileBackend(path.resolve(dir));
    await mkdir(path.join(backend.path, "volumes"), { recursive: true });
    await mkdir(path.join(backend.path, "snapshots"), { recursive: true });
    const raw = await readFile(backend.catalogPath(), "utf8").catch(() => undefined);
    if (raw !== undefined) backend.catalog = JSON.parse(raw) as Catalog;
    return backend;
  }

  private catalogPath(): string {
    return path.join(this.path, "catalog.json");
  }

  private volumePath(name: string): string {
    return path.join(this.path, "volumes", `${name}.img`);
  }

  private snapshotPath(volume: string, name: string): string {
    return path.join(this.path, "snapshots", `${volume}@${name}.img`);
  }

  private async save(): Promise<void> {
    const tmp = `${this.catalogPath()}.tmp`;
    await writeFile(tmp, JSON.stringify(this.catalog));
    await rename(tmp, this.catalogPath());
  }

  private entry(name: string): Catalog["volumes"][string] {
    const entry = this.catalog.volumes[name];
    if (!entry) throw new NodeError("NOT_FOUND", `volume ${name} not found`);
    return entry;
  }

  async listVolumes(): Promise<VolumeDto[]> {
    return Promise.all(
      Object.entries(this.catalog.volumes).map(async ([name, v]) => {
        const st = await stat(this.volumePath(name)).catch(() => undefined);
        return { name, size: v.size, encrypted: false, allocated: st ? st.blocks * 512 : 0, snapshots: v.snapshots.length };
      }),
    );
  }

  async createVolume(request: CreateVolumeRequest): Promise<VolumeDto> {
    if (request.encryption) throw new NodeError("UNSUPPORTED", "the file backend does not encrypt");
    if (this.catalog.volumes[request.name]) throw new NodeError("EXISTS", `volume ${request.name} already exists`);
    const device = await FileBlockDevice.open(this.volumePath(request.name), request.size);
    await device.close();
    this.catalog.volumes[request.name] = { size: request.size, snapshots: [] };
    await this.save();
    return { name: request.name, size: request.size, encrypted: false, allocated: 0, snapshots: 0 };
  }

  async deleteVolume(name: string): Promise<void> {
    const entry = this.entry(name);
    await this.open.get(name)?.close();
    this.open.delete(name);
    for (const s of entry.snapshots) await rm(this.snapshotPath(name, s.name), { force: true });
    await rm(this.volumePath(name), { force: true });
    delete this.catalog.volumes[name];
    await this.save();
  }

  async openVolume(name: string): Promise<BlockDevice> {
    const entry = this.entry(name);
    const existing = this.open.get(name);
    if (existing) return existing;
    const device = await FileBlockDevice.open(this.volumePath(name), entry.size);
    this.open.set(name, device);
    return device;
  }

  async listSnapshots(volume: string): Promise<SnapshotDto[]> {
    return this.entry(volume).snapshots.map((s) => ({ volume, name: s.name, createdAt: s.createdAt }));
  }

  async createSnapshot(volume: string, name: string): Promise<SnapshotDto> {
    const entry = this.entry(volume);
    if (entry.snapshots.some((s) => s.name === name)) throw new NodeError("EXISTS", `snapshot ${volume}@${name} already exists`);
    // Crash-consistent only with respect to completed writes: flush first, then copy.
    await this.open.get(volume)?.flush();
    await copyFile(this.volumePath(volume), this.snapshotPath(volume, name), constants.COPYFILE_FICLONE);
    const snapshot = { name, createdAt: new Date().toISOString() };
    entry.snapshots.push(snapshot);
    await this.save();
    return { volume, ...snapshot };
  }

  async deleteSnapshot(volume: string, name: string): Promise<void> {
    const entry = this.entry(volume);
    const index = entry.snapshots.findIndex((s) => s.name === name);
    if (index < 0) throw new NodeError("NOT_FOUND", `snapshot ${volume}@${name} not found`);
    entry.snapshots.splice(index, 1);
    await rm(this.snapshotPath(volume, name), { force: true });
    await this.save();
  }

  async scrub(volume?: string): Promise<ScrubReport> {
    if (volume !== undefined) this.entry(volume);
    const names = volume === undefined ? Object.keys(this.catalog.volumes) : [volume];
    let blocks = 0;
    for (const name of names) blocks += Math.ceil(this.entry(name).size / 4096);
    // Plain files carry no checksums: there is nothing to verify beyond existence.
    return { volumes: names.length, blocksChecked: blocks, errors: 0, repaired: 0, details: [] };
  }

  async capacity(): Promise<{ capacity?: number; used?: number }> {
    return {};
  }

  async close(): Promise<void> {
    for (const device of this.open.values()) await device.close();
    this.open.clear();
  }
}
