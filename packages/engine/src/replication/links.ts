import type { BlockDevice } from "../block-device";
import type { EpochGuard } from "./epoch-guard";
import { FencedError, type ReplicaClient } from "./replica-client";
import type { ReplicaSnapshots } from "./replica-snapshots";

/**
 * What the target needs of a replica, wherever it lives: across the network
 * (a {@link ReplicaClient}) or in this process (the node's own pool).
 */
export interface ReplicaLink {
  readonly replicaId: string;
  /** `crc`: CRC-32 of `data`, computed once by the target for every replica. */
  write(offset: number, data: Buffer, fua: boolean, crc?: number): Promise<void>;
  writeZeroes(offset: number, length: number, fua: boolean): Promise<void>;
  trim(offset: number, length: number, fua: boolean): Promise<void>;
  flush(): Promise<void>;
  /** Fills `target` with the replica's bytes at `offset`. */
  read(offset: number, target: Buffer): Promise<void>;
  /** Takes a local snapshot on the replica (idempotent by name). */
  snapshot(name: string): Promise<void>;
  /** Deletes a local snapshot on the replica (absent is fine). */
  deleteSnapshot(name: string): Promise<void>;
  /** The replica keeps only these snapshots. */
  keepSnapshots(names: readonly string[]): Promise<void>;
  /** Grows the replica's device to `sizeBytes` (a replica already that large succeeds). */
  grow(sizeBytes: number): Promise<void>;
  close(): void;
}

/** A replica's device as the node holds it: a block device that can grow (a pool volume). */
export interface GrowableDevice extends BlockDevice {
  grow(newSize: number): Promise<void>;
}

/** Grows `device` to `sizeBytes` unless it is that large already: GROW never shrinks, and a repeat is a success. */
export async function growAtLeast(device: GrowableDevice, sizeBytes: number): Promise<void> {
  if (device.size < sizeBytes) await device.grow(sizeBytes);
}

export function remoteLink(client: ReplicaClient): ReplicaLink {
  return {
    replicaId: client.replicaId,
    write: (o, d, f, crc) => client.write(o, d, f, crc),
    writeZeroes: (o, l, f) => client.writeZeroes(o, l, f),
    trim: (o, l, f) => client.trim(o, l, f),
    flush: () => client.flush(),
    read: async (o, target) => {
      (await client.read(o, target.length)).copy(target);
    },
    snapshot: (n) => client.snapshot(n),
    deleteSnapshot: (n) => client.deleteSnapshot(n),
    keepSnapshots: (names) => client.keepSnapshots(names),
    grow: (size) => client.grow(size),
    close: () => client.close(),
  };
}

/**
 * A replica in this process. It is fenced like a remote one: the guard must
 * admit the target's epoch on every request, so a superseded target on this
 * node cannot write to its own disk either.
 */
export function localLink(replicaId: string, device: GrowableDevice, guard: EpochGuard, epoch: bigint, snapshots: ReplicaSnapshots): ReplicaLink {
  const admit = (): void => {
    if (!guard.admits(epoch)) throw new FencedError(replicaId);
  };
  return {
    replicaId,
    write: async (o, d, fua, crc) => {
      admit();
      await device.write(o, d, { fua, crc });
    },
    writeZeroes: async (o, l, fua) => {
      admit();
      await device.writeZeroes(o, l, { fua });
    },
    trim: async (o, l, fua) => {
      admit();
      await device.trim(o, l, { fua });
    },
    flush: async () => {
      admit();
      await device.flush();
    },
    read: async (o, target) => {
      admit();
      await device.read(o, target);
    },
    snapshot: async (n) => {
      admit();
      await snapshots.create(n);
    },
    deleteSnapshot: async (n) => {
      admit();
      await snapshots.delete(n);
    },
    keepSnapshots: async (names) => {
      admit();
      await snapshots.keepOnly(names);
    },
    grow: async (size) => {
      admit();
      await growAtLeast(device, size);
    },
    close: () => undefined,
  };
}
