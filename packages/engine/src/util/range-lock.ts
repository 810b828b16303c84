/**
 * FIFO range lock over block numbers.
 *
 * Every request takes the lock on the 4 KiB blocks it touches: writes,
 * read-modify-write of partial blocks, trims and snapshot transitions take it
 * exclusively, reads shared. A request waits for every *earlier* request that
 * overlaps it and conflicts, including ones that are still waiting, so a later
 * write to an overlapping range can never overtake an earlier one, and a reader
 * never sees a block between its data write and its checksum update.
 *
 * The list holds only in-flight requests (bounded by the queue depth), so the
 * linear scan costs a few dozen comparisons and no per-block state.
 */
export interface RangeLockHandle {
  readonly start: number;
  readonly end: number;
}

interface Entry extends RangeLockHandle {
  readonly exclusive: boolean;
  blockers: number;
  waiters: Entry[] | null;
  resolve: (() => void) | null;
  prev: Entry | null;
  next: Entry | null;
}

export class RangeLock {
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private count = 0;

  /** Number of held or waiting requests (for tests and drain checks). */
  get size(): number {
    return this.count;
  }

  /** Locks blocks [start, end). `end` may be Infinity for the whole device. */
  acquire(start: number, end: number, exclusive: boolean): Promise<RangeLockHandle> {
    const entry: Entry = { start, end, exclusive, blockers: 0, waiters: null, resolve: null, prev: this.tail, next: null };
    for (let e = this.head; e !== null; e = e.next) {
      if (e.start < end && start < e.end && (exclusive || e.exclusive)) {
        entry.blockers++;
        (e.waiters ??= []).push(entry);
      }
    }
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.count++;
    if (entry.blockers === 0) return Promise.resolve(entry);
    return new Promise<RangeLockHandle>((resolve) => {
      entry.resolve = () => resolve(entry);
    });
  }

  release(handle: RangeLockHandle): void {
    const entry = handle as Entry;
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = null;
    this.count--;
    const waiters = entry.waiters;
    if (waiters === null) return;
    entry.waiters = null;
    for (const w of waiters) {
      if (--w.blockers === 0 && w.resolve) {
        const r = w.resolve;
        w.resolve = null;
        r();
      }
    }
  }
}
