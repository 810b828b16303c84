import { describe, expect, it } from "vitest";
import { volumeSourceSchema } from "../admin/cluster-schemas";
import { RECORD_VERSION, type NodeRecord, type VolumeRecord } from "../consensus/records";
import { EngineError } from "../errors";
import { chooseCopyNode, planClone } from "./volume-clone";
import { sameVolume } from "./volume-ops";

const MiB = 1024 * 1024;
const node = (id: string, kekId?: string, healthy = true): NodeRecord => ({
  v: RECORD_VERSION,
  id,
  address: `${id}:1`,
  labels: {},
  capacityBytes: 1024 * MiB,
  provisionedBytes: 0,
  overcommit: 1,
  healthy,
  ...(kekId === undefined ? {} : { kekId }),
});
const source = (over: Partial<VolumeRecord> = {}): VolumeRecord => ({
  v: RECORD_VERSION,
  id: "src",
  spec: { sizeBytes: 32 * MiB, replicas: 3, encrypted: false },
  epoch: 2,
  target: { nodeId: "a" },
  replicas: [
    { id: "src-0000000a", nodeId: "a", state: "healthy", outOfSyncSince: null },
    { id: "src-0000000b", nodeId: "b", state: "healthy", outOfSyncSince: null },
    { id: "src-0000000c", nodeId: "c", state: "healthy", outOfSyncSince: null },
  ],
  inSync: ["src-0000000a", "src-0000000b", "src-0000000c"],
  snapshots: [{ name: "s1", createdAt: "2026-01-01T00:00:00.000Z", replicaIds: ["src-0000000b", "src-0000000c"], sizeBytes: 16 * MiB }],
  ...over,
});
const encrypted = source({
  spec: { sizeBytes: 32 * MiB, replicas: 3, encrypted: true },
  encryption: { wrappedKey: { provider: "local-file", keyId: "kek-1", ciphertext: "x" }, keyCheck: "y" },
});

function thrown(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngineError) return err;
    throw err;
  }
  throw new Error("expected an EngineError");
}

describe("planClone", () => {
  it("restores a snapshot into a volume at least the snapshot's size (not the volume's, which grew since)", () => {
    const plan = planClone({ name: "r", size: 16 * MiB, source: { snapshot: { volume: "src", name: "s1" } } }, source(), undefined);
    expect(plan.snapshot?.name).toBe("s1");
    expect(plan.encrypted).toBe(false);
    const small = thrown(() => planClone({ name: "r", size: 8 * MiB, source: { snapshot: { volume: "src", name: "s1" } } }, source(), undefined));
    expect(small.code).toBe("INVALID");
    expect(small.message).toMatch(/^size: 8388608 bytes is smaller than the source's 16777216 bytes/);
  });

  it("clones a volume: no snapshot yet, at least the volume's size", () => {
    expect(planClone({ name: "c", size: 32 * MiB, source: { volume: "src" } }, source(), undefined).snapshot).toBeNull();
    expect(thrown(() => planClone({ name: "c", size: 16 * MiB, source: { volume: "src" } }, source(), undefined)).message).toMatch(/^size: /);
  });

  it("names the field of a source that does not exist", () => {
    const noVolume = thrown(() => planClone({ name: "c", size: MiB, source: { volume: "nope" } }, null, undefined));
    expect([noVolume.code, noVolume.message]).toEqual(["NOT_FOUND", "source.volume: volume nope not found"]);
    const noSnapVolume = thrown(() => planClone({ name: "c", size: MiB, source: { snapshot: { volume: "nope", name: "s1" } } }, null, undefined));
    expect(noSnapVolume.message).toMatch(/^source\.snapshot\.volume: /);
    const noSnap = thrown(() => planClone({ name: "c", size: 32 * MiB, source: { snapshot: { volume: "src", name: "s9" } } }, source(), undefined));
    expect([noSnap.code, noSnap.message]).toEqual(["NOT_FOUND", "source.snapshot.name: volume src has no snapshot s9"]);
  });

  it("keeps a copy of an encrypted volume encrypted, under the same key-encryption key", () => {
    const plan = planClone({ name: "c", size: 32 * MiB, source: { volume: "src" } }, encrypted, "kek-1");
    expect(plan).toMatchObject({ encrypted: true, kekId: "kek-1" });
    expect(thrown(() => planClone({ name: "c", size: 32 * MiB, encrypted: false, source: { volume: "src" } }, encrypted, "kek-1")).message).toMatch(/^encrypted: /);
    expect(thrown(() => planClone({ name: "c", size: 32 * MiB, source: { volume: "src" } }, encrypted, "kek-2")).message).toMatch(/^encrypted: .*kek-1/);
    expect(thrown(() => planClone({ name: "c", size: 32 * MiB, source: { volume: "src" } }, encrypted, undefined)).message).toMatch(/--kms-key-file/);
    // An unencrypted source may be copied into an encrypted volume.
    expect(planClone({ name: "c", size: 32 * MiB, encrypted: true, source: { volume: "src" } }, source(), "kek-2")).toMatchObject({ encrypted: true, kekId: "kek-2" });
  });

  it("refuses to clone a volume that is itself still being filled", () => {
    const filling = source({ populate: { replicaId: "src-0000000a", from: { volume: "x", name: "s" }, state: "copying", internalSnapshot: false } });
    expect(thrown(() => planClone({ name: "c", size: 32 * MiB, source: { volume: "src" } }, filling, undefined)).code).toBe("BUSY");
  });
});

describe("chooseCopyNode", () => {
  const s1 = source().snapshots[0];
  if (!s1) throw new Error("fixture");
  const all = [node("a", "kek-1"), node("b", "kek-1"), node("c", "kek-2")];

  it("picks a live holder of the snapshot, the preferred ones first, else the lowest id", () => {
    expect(chooseCopyNode(source(), s1, all, ["c"], undefined)).toBe("c");
    expect(chooseCopyNode(source(), s1, all, ["a"], undefined)).toBe("b"); // a holds no copy
    expect(chooseCopyNode(source(), s1, [node("a"), node("c")], [], undefined)).toBe("c"); // b is down
  });

  it("needs the key-encryption key when the copy re-encrypts", () => {
    expect(chooseCopyNode(source(), s1, all, ["c"], "kek-1")).toBe("b");
    expect(thrown(() => chooseCopyNode(source(), s1, [node("c", "kek-2")], [], "kek-1")).message).toMatch(/has the key-encryption key kek-1/);
  });

  it("says when no holder is up", () => {
    const err = thrown(() => chooseCopyNode(source(), s1, [node("a")], [], undefined));
    expect(err.code).toBe("NO_TARGET");
    expect(err.message).toMatch(/held on b, c/);
  });
});

describe("sameVolume", () => {
  const restored = source({ id: "r", spec: { sizeBytes: 16 * MiB, replicas: 2, encrypted: false }, source: { snapshot: { volume: "src", name: "s1" } } });

  it("returns the volume for the same request, and names the first field that differs", () => {
    expect(sameVolume(restored, { sizeBytes: 16 * MiB, replicas: 2, source: { snapshot: { volume: "src", name: "s1" } } })).toBe(restored);
    const cases: Array<[Parameters<typeof sameVolume>[1], RegExp]> = [
      [{ sizeBytes: 32 * MiB, replicas: 2, source: { snapshot: { volume: "src", name: "s1" } } }, /another size: asked 33554432, it has 16777216/],
      [{ sizeBytes: 16 * MiB, replicas: 3, source: { snapshot: { volume: "src", name: "s1" } } }, /another replicas/],
      [{ sizeBytes: 16 * MiB, replicas: 2, encrypted: true, source: { snapshot: { volume: "src", name: "s1" } } }, /another encrypted/],
      [{ sizeBytes: 16 * MiB, replicas: 2, source: { snapshot: { volume: "src", name: "s2" } } }, /another source: asked snapshot src\/s2, it has snapshot src\/s1/],
      [{ sizeBytes: 16 * MiB, replicas: 2 }, /another source: asked none/],
    ];
    for (const [asked, message] of cases) {
      const err = thrown(() => sameVolume(restored, asked));
      expect(err.code).toBe("EXISTS");
      expect(err.message).toMatch(message);
    }
  });
});

describe("volumeSourceSchema", () => {
  it("tells the two kinds apart by their key and names the field in errors", () => {
    expect(volumeSourceSchema.parse({ volume: "src" })).toEqual({ volume: "src" });
    expect(volumeSourceSchema.parse({ snapshot: { volume: "src", name: "s1" } })).toEqual({ snapshot: { volume: "src", name: "s1" } });
    const both = volumeSourceSchema.safeParse({ volume: "a", snapshot: { volume: "a", name: "b" } });
    expect(both.error?.issues[0]?.message).toMatch(/exactly one of/);
    const missingName = volumeSourceSchema.safeParse({ snapshot: { volume: "a" } });
    expect(missingName.error?.issues[0]?.path).toEqual(["snapshot", "name"]);
    const extra = volumeSourceSchema.safeParse({ volume: "a", from: "b" });
    expect(extra.success).toBe(false);
  });
});
