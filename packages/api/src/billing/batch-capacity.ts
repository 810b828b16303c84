/**
 * The capacity one telemetry batch reports, per UTC minute: what meter_telemetry_batch merges
 * into billing_capacity_hour (elementwise MAX per minute, so replay and reorder change nothing).
 *
 * Rule (migration billing_capacity_as_sampled): for each minute with sized samples, the sum over
 * the volumes sampled in it of each one's largest size in that minute (provisioned), and of size x
 * (copies - 1), the extra copies (replicated). A volume sampled twice in a minute counts once; a
 * volume without a sample in a minute is not counted in it (a gap in telemetry is never billed).
 * Samples without a size (an older agent) take no part: such a batch is metered from the volume
 * table in the database instead (`fromVolumeTable`).
 *
 * Computed here rather than in SQL so that a batch adding nothing to what is known metered needs
 * no metering statement at all (see MeteredCapacity).
 */
import type { VolumeSample } from "@stowage/agent-protocol";
import { hourStart } from "@stowage/billing";
import type { MeterCapacityMinute } from "../repositories/telemetry";

const MS_PER_MINUTE = 60_000;

/** The UTC minute of the hour an instant (epoch ms) is in, 0..59. */
export function minuteInHour(at: number): number {
  return Math.floor(at / MS_PER_MINUTE) % 60;
}

/** One minute of a batch's capacity, as the telemetry repository writes it. */
export type CapacityMinute = MeterCapacityMinute;

export interface BatchCapacity {
  /**
   * No volume sample carries a size (an older agent, or a batch of pool samples only): the
   * batch's sample minutes are metered from the volume table.
   */
  fromVolumeTable: boolean;
  /** Minutes with sized samples and capacity above zero, in time order. */
  minutes: CapacityMinute[];
}

/** `timeOf` parses the batch's ISO times (the caller's cache). */
export function batchCapacity(samples: readonly VolumeSample[], timeOf: (iso: string) => number): BatchCapacity {
  if (!samples.some((s) => s.sizeBytes !== undefined)) return { fromVolumeTable: true, minutes: [] };
  // minute (epoch minutes) -> volume -> its largest size and extra copies in that minute. Numbers
  // are exact here: a size is a safe integer and the extra copies are it times 0, 1 or 2.
  const byMinute = new Map<number, Map<string, { size: number; extra: number }>>();
  for (const s of samples) {
    if (s.sizeBytes === undefined || s.replicas === undefined) continue;
    const minute = Math.floor(timeOf(s.at) / MS_PER_MINUTE);
    let volumes = byMinute.get(minute);
    if (!volumes) {
      volumes = new Map<string, { size: number; extra: number }>();
      byMinute.set(minute, volumes);
    }
    const extra = s.sizeBytes * (s.replicas - 1);
    const seen = volumes.get(s.volumeId);
    if (!seen) volumes.set(s.volumeId, { size: s.sizeBytes, extra });
    else {
      if (s.sizeBytes > seen.size) seen.size = s.sizeBytes;
      if (extra > seen.extra) seen.extra = extra;
    }
  }
  const minutes: CapacityMinute[] = [];
  for (const [minute, volumes] of [...byMinute].sort(([a], [b]) => a - b)) {
    const { provisionedBytes, replicatedBytes } = sums(volumes.values());
    if (provisionedBytes === 0n && replicatedBytes === 0n) continue;
    const at = minute * MS_PER_MINUTE;
    minutes.push({ hourStartMs: hourStart(at), minute: minute % 60, provisionedBytes, replicatedBytes });
  }
  return { fromVolumeTable: false, minutes };
}

/** Exact sums: in numbers while they stay safe integers (the usual case), else again in bigints. */
function sums(volumes: Iterable<{ size: number; extra: number }>): { provisionedBytes: bigint; replicatedBytes: bigint } {
  const all = [...volumes];
  let size = 0;
  let extra = 0;
  for (const v of all) {
    size += v.size;
    extra += v.extra;
  }
  if (Number.isSafeInteger(size) && Number.isSafeInteger(extra)) return { provisionedBytes: BigInt(size), replicatedBytes: BigInt(extra) };
  let bigSize = 0n;
  let bigExtra = 0n;
  for (const v of all) {
    bigSize += BigInt(v.size);
    bigExtra += BigInt(v.extra);
  }
  return { provisionedBytes: bigSize, replicatedBytes: bigExtra };
}
