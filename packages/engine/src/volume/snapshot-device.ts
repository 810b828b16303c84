import { BlockIoError, type BlockDevice } from "../block-device";
import type { Version } from "./extent-map";
import { BLOCK_SIZE } from "./geometry";
import type { ByteRange } from "./version-diff";

/** What a snapshot view needs from its volume (kept narrow to avoid an import cycle). */
export interface VersionReader {
  readVersion(version: Version, offset: number, target: Buffer): Promise<void>;
  allocatedRangesOf(version: Version, offset: number, length: number): ByteRange[];
}

/**
 * Read-only BlockDevice over one snapshot. Reads go through the volume's
 * range lock and checksum verification like head reads; every mutation is
 * EPERM. Once the snapshot is deleted, reads fail with ESHUTDOWN.
 */
export class SnapshotDevice implements BlockDevice {
  readonly blockSize = BLOCK_SIZE;
  readonly readOnly = true;

  constructor(
    private readonly volume: VersionReader,
    private readonly version: Version,
  ) {}

  get size(): number {
    return this.version.size;
  }

  get name(): string {
    return this.version.name ?? "";
  }

  read(offset: number, target: Buffer): Promise<void> {
    return this.volume.readVersion(this.version, offset, target);
  }

  write(): Promise<void> {
    return Promise.reject(new BlockIoError("EPERM", "snapshots are read-only"));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  trim(): Promise<void> {
    return Promise.reject(new BlockIoError("EPERM", "snapshots are read-only"));
  }

  writeZeroes(): Promise<void> {
    return Promise.reject(new BlockIoError("EPERM", "snapshots are read-only"));
  }

  async allocatedRanges(offset: number, length: number): Promise<ByteRange[]> {
    if (this.version.removed || this.version.deleted) throw new BlockIoError("ESHUTDOWN", "snapshot was deleted");
    return this.volume.allocatedRangesOf(this.version, offset, length);
  }
}
