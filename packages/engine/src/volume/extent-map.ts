import { EngineError } from "../errors";
import { testBit } from "../util/bitmap";
import type { CheckpointData } from "./checkpoint";
import { BITMAP_BYTES, BLOCKS_PER_EXTENT } from "./geometry";
import type { WalRecord } from "./wal";

/**
 * In-memory extent map: versions (the writable head and snapshots, as a tree
 * linked by parent pointers) and the physical slots that hold their extents.
 *
 * Snapshots are redirect-on-write at extent granularity with sparse children:
 * taking a snapshot freezes the head version and starts an empty head whose
 * parent is the snapshot. The first write to an extent in the new head gets a
 * fresh slot holding only the blocks written since; reads fall through to the
 * parent for blocks the slot has neither stored (present) nor zeroed.
 *
 * Every metadata change is a WalRecord applied through `apply`, both live and
 * at replay, so the durable log and the memory image cannot drift apart.
 */
export class Slot {
  /** CRC-32 of each block as stored on disk (ciphertext when encrypted). */
  readonly crc = new Uint32Array(BLOCKS_PER_EXTENT);
  readonly present = new Uint8Array(BITMAP_BYTES);
  readonly zero = new Uint8Array(BITMAP_BYTES);
  /** In the activity log: may hold writes newer than its durable checksum page. */
  hot = false;
  /** Set while the "hot" record is being made durable; writers wait on it. */
  hotWait: Promise<void> | null = null;
  /** Flush epoch of the last change; clean once a flush of that epoch completed. */
  dirtyEpoch = 0;
  /** In-flight operations pinning this slot (it is never freed while > 0). */
  users = 0;
  pageGen = 0;
  /** Its checksum page was lost while cold: every read fails rather than guess. */
  bad = false;
  constructor(
    readonly id: number,
    public version: number,
    readonly extent: number,
    readonly incarnation: number,
  ) {}
}

export class Version {
  readonly slots = new Map<number, Slot>();
  removed = false;
  constructor(
    readonly id: number,
    public parent: Version | null,
    public name: string | null,
    public size: number,
    public createdAt: number,
    public deleted = false,
  ) {}
}

export class ExtentMap {
  readonly versions = new Map<number, Version>();
  readonly slots = new Map<number, Slot>();
  readonly hot = new Set<Slot>();
  /** Slot ids free for reuse (their release is durable). */
  free: number[] = [];
  nextSlot = 0;
  nextIncarnation = 1;
  nextVersionId: number;
  head: Version;

  private constructor(head: Version, nextVersionId: number) {
    this.head = head;
    this.nextVersionId = nextVersionId;
    this.versions.set(head.id, head);
  }

  static empty(size: number, createdAt = Date.now()): ExtentMap {
    return new ExtentMap(new Version(1, null, null, size, createdAt), 2);
  }

  static fromCheckpoint(ck: CheckpointData): ExtentMap {
    const byId = new Map<number, Version>();
    for (const v of ck.versions) byId.set(v.id, new Version(v.id, null, v.name, v.size, v.createdAt, v.deleted));
    for (const v of ck.versions) {
      const ver = byId.get(v.id);
      if (ver && v.parent !== null) ver.parent = byId.get(v.parent) ?? null;
    }
    const head = byId.get(ck.head);
    if (!head) throw new EngineError("CORRUPT", "checkpoint head version is missing");
    const map = new ExtentMap(head, ck.nextVersionId);
    for (const v of byId.values()) map.versions.set(v.id, v);
    map.nextSlot = ck.nextSlot;
    map.nextIncarnation = ck.nextIncarnation;
    for (const s of ck.slots) {
      const ver = byId.get(s.version);
      if (!ver) throw new EngineError("CORRUPT", `slot ${s.id} belongs to unknown version ${s.version}`);
      const slot = new Slot(s.id, s.version, s.extent, s.incarnation);
      map.slots.set(s.id, slot);
      ver.slots.set(s.extent, slot);
    }
    for (const id of ck.hot) {
      const slot = map.slots.get(id);
      if (slot) {
        slot.hot = true;
        map.hot.add(slot);
      }
    }
    return map;
  }

  toCheckpoint(seq: number): CheckpointData {
    return {
      seq,
      head: this.head.id,
      nextVersionId: this.nextVersionId,
      nextSlot: this.nextSlot,
      nextIncarnation: this.nextIncarnation,
      versions: [...this.versions.values()].map((v) => ({
        id: v.id,
        parent: v.parent ? v.parent.id : null,
        name: v.name,
        size: v.size,
        createdAt: v.createdAt,
        deleted: v.deleted,
      })),
      slots: [...this.slots.values()].map((s) => ({ id: s.id, version: s.version, extent: s.extent, incarnation: s.incarnation })),
      hot: [...this.hot].map((s) => s.id),
    };
  }

  /** After replay: every slot id below the high-water mark that isn't in use is free. */
  rebuildFreeList(): void {
    this.free = [];
    for (let id = this.nextSlot - 1; id >= 0; id--) if (!this.slots.has(id)) this.free.push(id);
  }

  version(id: number): Version {
    const v = this.versions.get(id);
    if (!v) throw new EngineError("CORRUPT", `unknown version ${id}`);
    return v;
  }

  childrenOf(v: Version): Version[] {
    const out: Version[] = [];
    for (const c of this.versions.values()) if (c.parent === v) out.push(c);
    return out;
  }

  /** Live snapshots (named, not deleted), oldest first. */
  snapshots(): Version[] {
    return [...this.versions.values()].filter((v) => v !== this.head && v.name !== null && !v.deleted).sort((a, b) => a.id - b.id);
  }

  findSnapshot(name: string): Version | undefined {
    for (const v of this.versions.values()) if (v !== this.head && v.name === name && !v.deleted) return v;
    return undefined;
  }

  /** True when some ancestor (from `v` upwards) stores anything for `extent`. */
  hasExtentFrom(v: Version | null, extent: number): boolean {
    for (let cur = v; cur; cur = cur.parent) if (cur.slots.has(extent)) return true;
    return false;
  }

  /** Where block `block` (0..1023) of `extent` reads from in version `v`: a slot, or null for zeros. */
  resolve(v: Version, extent: number, block: number): Slot | null {
    for (let cur: Version | null = v; cur; cur = cur.parent) {
      const s = cur.slots.get(extent);
      if (s) {
        if (s.bad || testBit(s.present, block)) return s;
        if (testBit(s.zero, block)) return null;
      }
    }
    return null;
  }

  apply(rec: WalRecord): void {
    switch (rec.type) {
      case "alloc": {
        const v = this.version(rec.version);
        const slot = new Slot(rec.slot, rec.version, rec.extent, rec.incarnation);
        const old = v.slots.get(rec.extent);
        if (old) this.dropSlot(old);
        this.slots.set(rec.slot, slot);
        v.slots.set(rec.extent, slot);
        slot.hot = true;
        this.hot.add(slot);
        if (rec.slot >= this.nextSlot) this.nextSlot = rec.slot + 1;
        if (rec.incarnation >= this.nextIncarnation) this.nextIncarnation = rec.incarnation + 1;
        return;
      }
      case "free": {
        const slot = this.slots.get(rec.slot);
        if (slot) this.dropSlot(slot);
        return;
      }
      case "hot":
      case "cold":
        for (const id of rec.slots) {
          const slot = this.slots.get(id);
          if (!slot) continue;
          slot.hot = rec.type === "hot";
          if (slot.hot) this.hot.add(slot);
          else this.hot.delete(slot);
        }
        return;
      case "snapshot": {
        const frozen = this.version(rec.frozen);
        frozen.name = rec.name;
        frozen.size = rec.size;
        frozen.createdAt = rec.createdAt;
        const head = new Version(rec.newHead, frozen, null, rec.size, rec.createdAt);
        this.versions.set(head.id, head);
        this.head = head;
        if (rec.newHead >= this.nextVersionId) this.nextVersionId = rec.newHead + 1;
        return;
      }
      case "delete-version":
        this.version(rec.version).deleted = true;
        return;
      case "remove-version": {
        const v = this.versions.get(rec.version);
        if (!v) return;
        for (const c of this.childrenOf(v)) c.parent = v.parent;
        for (const s of [...v.slots.values()]) this.dropSlot(s);
        v.removed = true;
        this.versions.delete(v.id);
        return;
      }
      case "reassign": {
        const slot = this.slots.get(rec.slot);
        if (!slot) return;
        const from = this.versions.get(slot.version);
        if (from && from.slots.get(slot.extent) === slot) from.slots.delete(slot.extent);
        slot.version = rec.version;
        this.version(rec.version).slots.set(slot.extent, slot);
        return;
      }
      case "revert": {
        const target = this.version(rec.target);
        const old = this.head;
        old.deleted = true;
        const head = new Version(rec.newHead, target, null, old.size, Date.now());
        this.versions.set(head.id, head);
        this.head = head;
        if (rec.newHead >= this.nextVersionId) this.nextVersionId = rec.newHead + 1;
        return;
      }
      case "resize":
        this.head.size = rec.size;
        return;
    }
  }

  private dropSlot(slot: Slot): void {
    const v = this.versions.get(slot.version);
    if (v && v.slots.get(slot.extent) === slot) v.slots.delete(slot.extent);
    this.slots.delete(slot.id);
    this.hot.delete(slot);
    slot.hot = false;
  }
}
