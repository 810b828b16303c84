import type { Volume } from "../volume/volume";

/**
 * What a replica does for the volume's snapshots. Every operation is
 * idempotent by name: a target that retries after a lost answer, or asks a
 * replica that already did it, gets the same success.
 */
export interface ReplicaSnapshots {
  /** Takes a snapshot of the replica's current content; an existing name is a success. */
  create(name: string): Promise<void>;
  /** Deletes a snapshot; an absent name is a success. */
  delete(name: string): Promise<void>;
  /** Deletes every snapshot not named; returns the names it deleted. */
  keepOnly(names: readonly string[]): Promise<string[]>;
  list(): string[];
}

function hasCode(err: unknown, code: string): boolean {
  return err instanceof Error && "code" in err && err.code === code;
}

/** A replica's snapshots are the pool volume's own redirect-on-write snapshots. */
export function volumeSnapshots(volume: Volume): ReplicaSnapshots {
  const list = (): string[] => volume.listSnapshots().map((s) => s.name);
  const remove = async (name: string): Promise<void> => {
    try {
      await volume.deleteSnapshot(name);
    } catch (err) {
      if (!hasCode(err, "NOT_FOUND")) throw err;
    }
  };
  return {
    list,
    async create(name) {
      try {
        await volume.createSnapshot(name);
      } catch (err) {
        if (!hasCode(err, "EXISTS")) throw err;
      }
    },
    delete: remove,
    async keepOnly(names) {
      const keep = new Set(names);
      const drop = list().filter((n) => !keep.has(n));
      for (const n of drop) await remove(n);
      return drop;
    },
  };
}
