/**
 * What a controller has just created or deleted and its cache has not shown yet. Without it a second
 * reconcile before the watch catches up would create the same pods again (kcm's
 * ControllerExpectations, by name instead of by count).
 */
export class Expectations {
  private readonly creates = new Map<string, Set<string>>();
  private readonly deletes = new Map<string, Set<string>>();

  expectCreate(owner: string, name: string): void {
    setOf(this.creates, owner).add(name);
  }

  expectDelete(owner: string, name: string): void {
    setOf(this.deletes, owner).add(name);
  }

  /** Forgets what the cache now shows; answers the names still expected to appear and to go. */
  settle(owner: string, present: ReadonlySet<string>): { pendingCreates: Set<string>; pendingDeletes: Set<string> } {
    const creates = setOf(this.creates, owner);
    for (const n of creates) if (present.has(n)) creates.delete(n);
    const deletes = setOf(this.deletes, owner);
    for (const n of deletes) if (!present.has(n)) deletes.delete(n);
    return { pendingCreates: new Set(creates), pendingDeletes: new Set(deletes) };
  }

  /** A create that failed will not show up. */
  forgetCreate(owner: string, name: string): void {
    this.creates.get(owner)?.delete(name);
  }

  forget(owner: string): void {
    this.creates.delete(owner);
    this.deletes.delete(owner);
  }
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let s = map.get(key);
  if (!s) {
    s = new Set();
    map.set(key, s);
  }
  return s;
}
