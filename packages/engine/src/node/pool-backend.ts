/**
 * NodeBackend over the engine's Pool: volumes, snapshots, scrub and KMS.
 *
 * Encrypted volumes use the local-file KMS. The pool stores only the wrapped
 * data key; which key file unwraps it is node configuration, so the node keeps
 * a small map volume → key file path (never key material) next to the pool
 * and reopens encrypted volumes with it after a restart.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { BlockDevice } from "../block-device";
import type { CreateVolumeRequest, ScrubReport, SnapshotDto, VolumeDto } from "../admin/schemas";
import { LocalFileKms } from "../kms/local-file";
import { Pool } from "../pool/pool";
import { scrub } from "../scrub/scrub";
import { writeFileAtomic } from "../util/atomic-file";
import { EngineError, errnoCode } from "../errors";
import { BLOCKS_PER_EXTENT } from "../volume/geometry";
import type { Volume } from "../volume/volume";
import type { NodeBackend } from "./backend";

const KEY_REFS_FILE = "node-key-files.json";
const keyRefsSchema = z.record(z.string(), z.string());

export class PoolBackend implements NodeBackend {
  readonly kind = "pool";

  private constructor(
    private readonly pool: Pool,
    private readonly keyFiles: Map<string, string>,
  ) {}

  get path(): string {
    return this.pool.dir;
  }

  static async open(dir: string): Promise<PoolBackend> {
    const pool = await Pool.open({ dir });
    let refs: Record<string, string> = {};
    try {
      refs = keyRefsSchema.parse(JSON.parse(await readFile(path.join(pool.dir, KEY_REFS_FILE), "utf8")));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") {
        await pool.close();
        throw err;
      }
    }
    return new PoolBackend(pool, new Map(Object.entries(refs)));
  }

  private async saveKeyRefs(): Promise<void> {
    await writeFileAtomic(path.join(this.pool.dir, KEY_REFS_FILE), JSON.stringify(Object.fromEntries(this.keyFiles)));
  }

  private async volume(name: string): Promise<Volume> {
    if (!this.pool.listVolumes().some((v) => v.name === name)) throw new EngineError("NOT_FOUND", `volume ${name} not found`);
    const keyFile = this.keyFiles.get(name);
    return this.pool.openVolume(name, keyFile === undefined ? {} : { kms: new LocalFileKms({ path: keyFile }) });
  }

  async listVolumes(): Promise<VolumeDto[]> {
    return this.pool.listVolumes().map((v) => {
      const open = this.pool.getVolume(v.name);
      return {
        name: v.name,
        size: v.size,
        encrypted: v.encrypted,
        allocated: v.allocatedBytes,
        ...(open ? { snapshots: open.listSnapshots().length } : {}),
      };
    });
  }

  async createVolume(request: CreateVolumeRequest): Promise<VolumeDto> {
    const keyFile = request.encryption?.keyFile;
    if (keyFile !== undefined) {
      // Fail before creating anything if the key can't be read.
      await readFile(keyFile).catch(() => {
        throw new EngineError("INVALID", `key file ${keyFile} cannot be read by the node`);
      });
    }
    const vol = await this.pool.createVolume({
      name: request.name,
      size: request.size,
      encrypted: keyFile !== undefined,
      ...(keyFile !== undefined ? { kms: new LocalFileKms({ path: keyFile }) } : {}),
    });
    if (keyFile !== undefined) {
      this.keyFiles.set(request.name, keyFile);
      await this.saveKeyRefs();
    }
    return { name: vol.name, size: vol.size, encrypted: vol.encrypted, allocated: 0, snapshots: 0 };
  }

  async deleteVolume(name: string): Promise<void> {
    if (!this.pool.listVolumes().some((v) => v.name === name)) throw new EngineError("NOT_FOUND", `volume ${name} not found`);
    await this.pool.deleteVolume(name);
    if (this.keyFiles.delete(name)) await this.saveKeyRefs();
  }

  openVolume(name: string): Promise<BlockDevice> {
    return this.volume(name);
  }

  async listSnapshots(volume: string): Promise<SnapshotDto[]> {
    return (await this.volume(volume)).listSnapshots().map((s) => ({ volume, name: s.name, createdAt: s.createdAt.toISOString() }));
  }

  async createSnapshot(volume: string, name: string): Promise<SnapshotDto> {
    const s = await (await this.volume(volume)).createSnapshot(name);
    return { volume, name: s.name, createdAt: s.createdAt.toISOString() };
  }

  async deleteSnapshot(volume: string, name: string): Promise<void> {
    const vol = await this.volume(volume);
    if (!vol.listSnapshots().some((s) => s.name === name)) throw new EngineError("NOT_FOUND", `snapshot ${volume}@${name} not found`);
    await vol.deleteSnapshot(name);
  }

  async scrub(volume?: string): Promise<ScrubReport> {
    const names = volume === undefined ? this.pool.listVolumes().map((v) => v.name) : [volume];
    const report: ScrubReport = { volumes: 0, blocksChecked: 0, errors: 0, repaired: 0, details: [] };
    for (const name of names) {
      const result = await scrub(await this.volume(name));
      report.volumes++;
      report.blocksChecked += result.extentsScanned * BLOCKS_PER_EXTENT;
      report.errors += result.badBlocks.length;
      for (const b of result.badBlocks) {
        report.details.push({ volume: name, offset: b.offset, problem: `checksum mismatch${b.snapshot === null ? "" : ` in snapshot ${b.snapshot}`}` });
      }
    }
    return report;
  }

  async capacity(): Promise<{ capacity?: number; used?: number }> {
    const stats = await this.pool.stats();
    return { capacity: stats.capacityBytes, used: stats.allocatedBytes };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
