import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../util/atomic-file";

/**
 * The highest volume epoch a replica has seen, persisted before it is acted
 * on. A target that lost its lease keeps an old epoch; once a newer target has
 * spoken to this replica, every message from the old one is refused — even
 * after a replica restart, because the epoch is on disk first.
 */
export class EpochGuard {
  private highest: bigint;
  private persisting: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    initial: bigint,
  ) {
    this.highest = initial;
  }

  static async open(file: string): Promise<EpochGuard> {
    let initial = 0n;
    try {
      const text = (await readFile(file, "utf8")).trim();
      if (!/^\d+$/.test(text)) throw new Error(`epoch file ${file} is corrupt`);
      initial = BigInt(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    return new EpochGuard(file, initial);
  }

  get current(): bigint {
    return this.highest;
  }

  /** True if a message at `epoch` may be served now (no I/O). */
  admits(epoch: bigint): boolean {
    return epoch >= this.highest;
  }

  /**
   * Raises the epoch to `epoch` durably. Resolves false when `epoch` is older
   * than one already seen (the caller is fenced).
   */
  async advance(epoch: bigint): Promise<boolean> {
    // Serialise: two targets racing to raise the epoch must persist in order.
    const run = this.persisting.then(async () => {
      if (epoch < this.highest) return false;
      if (epoch > this.highest) {
        await writeFileAtomic(this.file, `${epoch}\n`);
        this.highest = epoch;
      }
      return true;
    });
    this.persisting = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
