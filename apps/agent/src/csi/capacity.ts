/** A CSI capacity range as an engine volume size: whole 4 KiB blocks, within the range. */
import { BLOCK_SIZE, MAX_VOLUME_SIZE } from "@stowage/engine";
import { invalidArgument, outOfRange } from "./errors";
import type { CapacityRange } from "./messages";

/** The engine's size granularity: volumes are whole blocks. */
export const SIZE_GRANULARITY = BLOCK_SIZE;
/** The size of a volume created without a capacity range. */
export const DEFAULT_VOLUME_SIZE = 1024 ** 3;

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * The smallest whole-block size at least `required_bytes` and at most `limit_bytes`;
 * OUT_OF_RANGE when no whole-block size fits (a limit below one block, or a
 * range narrower than the rounding).
 */
export function sizeFromRange(range: CapacityRange | null, fallback = DEFAULT_VOLUME_SIZE): number {
  const req = range?.requiredBytes ?? 0;
  const limit = range?.limitBytes ?? 0;
  if (limit !== 0 && req > limit) throw invalidArgument(`capacity_range.required_bytes ${req} is above capacity_range.limit_bytes ${limit}`);
  // Only a limit: the default size, or the largest whole-block size under the limit.
  const size = req !== 0 ? roundUp(req, SIZE_GRANULARITY) : limit !== 0 ? Math.floor(Math.min(fallback, limit) / SIZE_GRANULARITY) * SIZE_GRANULARITY || SIZE_GRANULARITY : fallback;
  if (limit !== 0 && size > limit) {
    throw outOfRange(`capacity_range: volumes are whole ${SIZE_GRANULARITY}-byte blocks; ${size} bytes is the smallest size for required_bytes ${req} and it exceeds limit_bytes ${limit}`);
  }
  if (size > MAX_VOLUME_SIZE) throw outOfRange(`capacity_range: ${size} bytes exceeds the largest volume, ${MAX_VOLUME_SIZE} bytes`);
  return size;
}

/** Whether an existing volume of `size` bytes satisfies the range (for idempotent creates and expands). */
export function sizeFits(size: number, range: CapacityRange | null): boolean {
  if (!range) return true;
  if (range.requiredBytes !== 0 && size < range.requiredBytes) return false;
  if (range.limitBytes !== 0 && size > range.limitBytes) return false;
  return true;
}
