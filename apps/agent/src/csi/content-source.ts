/**
 * CreateVolume's volume_content_source as the engine's create `source`: a
 * snapshot (restore) or a volume (clone). The source is checked here first so a
 * CO hears NOT_FOUND or OUT_OF_RANGE naming the field, as the spec asks, before
 * anything is created.
 */
import type { ClusterAdminClient } from "@stowage/engine";
import type { ClusterVolumeDto as EngineVolume } from "@stowage/engine";
import { notFound, outOfRange } from "./errors";
import type { ContentSource } from "./messages";
import { parseSnapshotId, snapshotId } from "./snapshot-id";

export type EngineSource = { snapshot: { volume: string; name: string } } | { volume: string };

export interface ResolvedSource {
  source: EngineSource;
  /** The source's volume: its replica holders are where the copy is local. */
  volume: EngineVolume;
}

export async function resolveContentSource(engine: ClusterAdminClient, source: ContentSource, size: number): Promise<ResolvedSource> {
  if (source.kind === "volume") {
    const volume = await engine.volume(source.volumeId);
    if (!volume) throw notFound(`volume_content_source.volume.volume_id: volume ${source.volumeId} does not exist`);
    if (size < volume.sizeBytes) throw outOfRange(`capacity_range: ${size} bytes is smaller than the source volume's ${volume.sizeBytes}`);
    return { source: { volume: volume.id }, volume };
  }
  const ref = parseSnapshotId(source.snapshotId);
  if (!ref) throw notFound(`volume_content_source.snapshot.snapshot_id: ${source.snapshotId} is not a Stowage snapshot id (volume/snapshot)`);
  const volume = await engine.volume(ref.volume);
  const snapshot = volume?.snapshots.find((s) => s.name === ref.snapshot);
  if (!volume || !snapshot) throw notFound(`volume_content_source.snapshot.snapshot_id: snapshot ${source.snapshotId} does not exist`);
  const minBytes = snapshot.sizeBytes ?? volume.sizeBytes;
  if (size < minBytes) throw outOfRange(`capacity_range: ${size} bytes is smaller than the snapshot's ${minBytes}`);
  return { source: { snapshot: { volume: ref.volume, name: ref.snapshot } }, volume };
}

/** The source a volume reports, as CSI's content_source. */
export function contentSourceMessage(source: EngineSource | null): { snapshot: { snapshot_id: string } } | { volume: { volume_id: string } } | null {
  if (source === null) return null;
  return "snapshot" in source ? { snapshot: { snapshot_id: snapshotId(source.snapshot.volume, source.snapshot.name) } } : { volume: { volume_id: source.volume } };
}

export function sameSource(a: EngineSource | null, b: EngineSource | null): boolean {
  return JSON.stringify(contentSourceMessage(a)) === JSON.stringify(contentSourceMessage(b));
}
