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
    if (!list().includes(name)) return;
    // deleteSnapshot hides the snapshot before its first await; the flush commits that to the
    // metadata log. Merging its extents into the next version can take long on a big volume:
    // the target does not wait for it (its request timeout would fail the replica), and an
    // interrupted merge resumes when the volume is opened again.
    const merging = volume.deleteSnapshot(name);
    void merging.catch(() => undefined);
    await volume.flush();
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
