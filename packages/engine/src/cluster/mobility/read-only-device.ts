import { BlockIoError, type BlockDevice } from "../../block-device";

/**
 * A replication destination as its target serves it: readable (to check or
 * copy it), never writable — the receiver alone writes, below this, straight
 * into the target. NBD advertises READ_ONLY and refuses writes with EPERM.
 */
export function readOnlyDevice(device: BlockDevice): BlockDevice {
  const refuse = (): Promise<never> => Promise.reject(new BlockIoError("EPERM", "the volume is a replication destination (read-only)"));
  return {
    get size() {
      return device.size;
    },
    blockSize: device.blockSize,
    readOnly: true,
    read: (offset, target) => device.read(offset, target),
    write: refuse,
    trim: refuse,
    writeZeroes: refuse,
    flush: () => Promise.resolve(),
    ...(device.allocatedRanges ? { allocatedRanges: (offset: number, length: number) => device.allocatedRanges?.(offset, length) ?? Promise.resolve([]) } : {}),
  };
}
