/**
 * Fixed geometry of a volume.
 *
 * - Block = 4 KiB: the NBD minimum block size the kernel is attached with, the
 *   page size (so buffered 4 KiB writes are written back as whole pages), the
 *   checksum unit and the XTS data unit. Smaller blocks would double checksum
 *   and crypto overhead for no client benefit.
 * - Extent = 4 MiB (1024 blocks): the unit of allocation, of the activity log
 *   and of snapshot redirect-on-write. Large enough that allocation and
 *   activity-log metadata are written rarely (once per 4 MiB first touched) and
 *   the per-extent checksum page is exactly 4 KiB (1024 × CRC-32); small enough
 *   that thin provisioning stays thin and crash recovery re-verifies little.
 *   It matches DRBD's activity-log extent and common lvstore cluster sizes.
 * - Segment = 256 extents (1 GiB) per sparse data file, so a large volume needs
 *   a handful of open files rather than one per extent.
 */
export const BLOCK_SHIFT = 12;
export const BLOCK_SIZE = 1 << BLOCK_SHIFT;
export const EXTENT_SHIFT = 22;
export const EXTENT_SIZE = 1 << EXTENT_SHIFT;
export const BLOCKS_PER_EXTENT_SHIFT = EXTENT_SHIFT - BLOCK_SHIFT;
export const BLOCKS_PER_EXTENT = 1 << BLOCKS_PER_EXTENT_SHIFT;
export const SLOTS_PER_SEGMENT = 256;
export const BITMAP_BYTES = BLOCKS_PER_EXTENT / 8;
/** Largest volume we accept: block numbers stay exact in a double and in XTS tweaks. */
export const MAX_VOLUME_SIZE = 2 ** 50;
