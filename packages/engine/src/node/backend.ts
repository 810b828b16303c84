/**
 * What the node process needs from the storage it serves. The pool adapter
 * implements it over the engine's Pool; tests and benchmarks may use the
 * file-backed one. Keeping this seam narrow lets the frontend, admin API and
 * CLI evolve without reaching into pool internals.
 */
import type { BlockDevice } from "../block-device";
import type { CreateVolumeRequest, ScrubReport, SnapshotDto, VolumeDto } from "../admin/schemas";

export interface NodeBackend {
  /** Short identifier shown in status output ("pool", "file"). */
  readonly kind: string;
  readonly path: string;
  listVolumes(): Promise<VolumeDto[]>;
  createVolume(request: CreateVolumeRequest): Promise<VolumeDto>;
  deleteVolume(name: string): Promise<void>;
  /** The device to export for a volume; called once per volume while the node runs. */
  openVolume(name: string): Promise<BlockDevice>;
  listSnapshots(volume: string): Promise<SnapshotDto[]>;
  createSnapshot(volume: string, name: string): Promise<SnapshotDto>;
  deleteSnapshot(volume: string, name: string): Promise<void>;
  scrub(volume?: string): Promise<ScrubReport>;
  capacity(): Promise<{ capacity?: number; used?: number }>;
  close(): Promise<void>;
}
