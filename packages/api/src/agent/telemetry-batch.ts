import { telemetryBatchSchema, type PoolSample, type TelemetryBatch, type VolumeSample } from "@stowage/agent-protocol";

/**
 * Validation of telemetry batches, equal in outcome to
 * telemetryBatchSchema.safeParse but cheaper where the volume is: a batch
 * carries hundreds of samples, and checking each through zod costs more than
 * storing it. The samples are checked by hand against the same constraints;
 * everything else goes through zod. Whatever the hand check does not accept
 * is parsed by zod in full, so a refusal names the same fields, with the same
 * messages, as before.
 */

const MAX_VOLUME_SAMPLES = 200_000;
const MAX_POOL_SAMPLES = 20_000;
const POOL_HEALTH = new Set(["healthy", "degraded", "failed"]);

const shellSchema = telemetryBatchSchema.omit({ volumeSamples: true, poolSamples: true });
const isoTimeSchema = telemetryBatchSchema.shape.sentAt;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is string {
  return typeof v === "string" && v.length >= 1 && v.length <= 200;
}

function isNonNegative(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Samples of a batch share a handful of timestamps: each distinct one is checked once. */
class TimeCheck {
  private readonly ok = new Set<string>();

  valid(v: unknown): v is string {
    if (typeof v !== "string") return false;
    if (this.ok.has(v)) return true;
    if (!isoTimeSchema.safeParse(v).success) return false;
    this.ok.add(v);
    return true;
  }
}

function volumeSamplesValid(list: unknown, times: TimeCheck): list is VolumeSample[] {
  if (!Array.isArray(list) || list.length > MAX_VOLUME_SAMPLES) return false;
  for (const s of list as unknown[]) {
    if (
      !isRecord(s) ||
      !isId(s.volumeId) ||
      !times.valid(s.at) ||
      !isNonNegative(s.readIops) ||
      !isNonNegative(s.writeIops) ||
      !isNonNegative(s.readBytesPerSec) ||
      !isNonNegative(s.writeBytesPerSec) ||
      !isNonNegative(s.latencyP50Us) ||
      !isNonNegative(s.latencyP99Us) ||
      !isCount(s.usedBytes) ||
      !isCount(s.ioErrors)
    ) {
      return false;
    }
  }
  return true;
}

function poolSamplesValid(list: unknown, times: TimeCheck): list is PoolSample[] {
  if (!Array.isArray(list) || list.length > MAX_POOL_SAMPLES) return false;
  for (const s of list as unknown[]) {
    if (!isRecord(s) || !isId(s.nodeId) || !times.valid(s.at) || !isCount(s.capacityBytes) || !isCount(s.allocatedBytes) || typeof s.health !== "string" || !POOL_HEALTH.has(s.health)) {
      return false;
    }
  }
  return true;
}

/** Only the fields of the protocol, as zod's parse would return them. */
function volumeSample(s: VolumeSample): VolumeSample {
  return {
    volumeId: s.volumeId,
    at: s.at,
    readIops: s.readIops,
    writeIops: s.writeIops,
    readBytesPerSec: s.readBytesPerSec,
    writeBytesPerSec: s.writeBytesPerSec,
    latencyP50Us: s.latencyP50Us,
    latencyP99Us: s.latencyP99Us,
    usedBytes: s.usedBytes,
    ioErrors: s.ioErrors,
  };
}

function poolSample(s: PoolSample): PoolSample {
  return { nodeId: s.nodeId, at: s.at, capacityBytes: s.capacityBytes, allocatedBytes: s.allocatedBytes, health: s.health };
}

export function parseTelemetryBatch(raw: unknown): ReturnType<typeof telemetryBatchSchema.safeParse> {
  if (isRecord(raw)) {
    const times = new TimeCheck();
    const { volumeSamples, poolSamples, ...rest } = raw;
    if (volumeSamplesValid(volumeSamples, times) && poolSamplesValid(poolSamples, times)) {
      const shell = shellSchema.safeParse(rest);
      if (shell.success) {
        const data: TelemetryBatch = { ...shell.data, volumeSamples: volumeSamples.map(volumeSample), poolSamples: poolSamples.map(poolSample) };
        return { success: true, data };
      }
    }
  }
  return telemetryBatchSchema.safeParse(raw);
}
