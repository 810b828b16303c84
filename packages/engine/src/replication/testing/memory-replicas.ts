/** Memory-backed replicas and a recording membership, to drive a VolumeTarget in unit tests. */
import { BlockIoError } from "../../block-device";
import { MemoryBlockDevice } from "../../nbd/testing/memory-device";
import type { ReplicaLink } from "../links";
import { EpochSupersededError, type Membership } from "../membership";
import { ReplicaUnavailableError } from "../replica-client";
import { VolumeTarget } from "../target";

export const SIZE = 16 * 1024 * 1024;
export const BS = 4096;
export const SNAP_BYTES = 16 * BS;

/** A replica backed by memory that can be cut off and can corrupt reads, like a failing disk. */
export class TestReplica {
  readonly device = new MemoryBlockDevice(SIZE);
  down = false;
  corruptReadsAt: number | null = null;
  writesSeen = 0;
  bytesReceived = 0;
  /** Snapshot name → the first SNAP_BYTES of the replica when it was taken. */
  readonly snapshots = new Map<string, Buffer>();
  failSnapshots = false;

  link(id: string): ReplicaLink {
    const fail = () => {
      if (this.down) throw new ReplicaUnavailableError(id, "down");
    };
    return {
      replicaId: id,
      write: async (o, d, fua) => {
        fail();
        this.writesSeen++;
        this.bytesReceived += d.length;
        await this.device.write(o, d, { fua });
      },
      writeZeroes: async (o, l, _fua) => {
        fail();
        await this.device.writeZeroes(o, l);
      },
      trim: async (o, l, _fua) => {
        fail();
        await this.device.trim(o, l);
      },
      flush: async () => {
        fail();
        await this.device.flush();
      },
      read: async (o, target) => {
        fail();
        if (this.corruptReadsAt !== null && this.corruptReadsAt >= o && this.corruptReadsAt < o + target.length) {
          throw new BlockIoError("EIO", "checksum mismatch");
        }
        await this.device.read(o, target);
      },
      snapshot: async (name) => {
        fail();
        if (this.failSnapshots) throw new ReplicaUnavailableError(id, "snapshot failed");
        if (!this.snapshots.has(name)) this.snapshots.set(name, await this.content(0, SNAP_BYTES));
      },
      deleteSnapshot: async (name) => {
        fail();
        this.snapshots.delete(name);
      },
      keepSnapshots: async (names) => {
        fail();
        for (const n of [...this.snapshots.keys()]) if (!names.includes(n)) this.snapshots.delete(n);
      },
      grow: async (size) => {
        fail();
        await this.device.grow(size);
      },
      close: () => undefined,
    };
  }

  async content(offset: number, length: number): Promise<Buffer> {
    const b = Buffer.alloc(length);
    await this.device.read(offset, b);
    return b;
  }
}

export class RecordingMembership implements Membership {
  readonly events: string[] = [];
  inSync: Set<string>;
  superseded = false;
  unreachable = false;
  constructor(ids: string[]) {
    this.inSync = new Set(ids);
  }
  async markOutOfSync(id: string) {
    if (this.superseded) throw new EpochSupersededError("v", 1, 2);
    if (this.unreachable) throw new Error("consensus store unavailable");
    this.events.push(`out:${id}`);
    this.inSync.delete(id);
  }
  async markInSync(id: string) {
    if (this.superseded) throw new EpochSupersededError("v", 1, 2);
    this.events.push(`in:${id}`);
    this.inSync.add(id);
  }
  async setState(id: string, state: string) {
    this.events.push(`state:${id}:${state}`);
  }
}

export function setup(n = 3) {
  const replicas = Array.from({ length: n }, () => new TestReplica());
  const ids = replicas.map((_, i) => `r${i}`);
  const membership = new RecordingMembership(ids);
  const target = new VolumeTarget({
    volumeId: "v",
    size: SIZE,
    membership,
    inSync: replicas.map((r, i) => r.link(ids[i] ?? "")),
    localReplicaId: "r0",
  });
  return { replicas, ids, membership, target };
}
