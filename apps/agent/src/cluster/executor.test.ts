import type { Command } from "@stowage/agent-protocol";
import { describe, expect, it } from "vitest";
import { EngineError, type ClusterAdminClient } from "@stowage/engine";
import type { CreateVolumeInput, EngineNode, EngineSnapshot, EngineVolume } from "./engine-admin";
import { EngineCommandExecutor, pickTarget } from "./executor";

/** An in-memory cluster answering like the engine's admin API. */
class FakeAdmin {
  readonly volumesByName = new Map<string, EngineVolume>();
  creates = 0;
  snapshotCreates = 0;
  /** Simulates a concurrent delivery: the snapshot appears between the lookup and the create. */
  raceOnSnapshot = false;
  /** Simulates a concurrent delivery: the volume appears between the lookup and the create. */
  raceOnCreate = false;
  /** Whether the engine node asked has a key-encryption key (`--kms-key-file`). */
  hasKms = true;
  lastCreate: CreateVolumeInput | null = null;
  readonly nodeList: EngineNode[] = ["n1", "n2", "n3"].map((id, i) => ({ id, address: "x", capacityBytes: 100, provisionedBytes: 30 - i * 10, controller: false }));

  nodes(): Promise<EngineNode[]> {
    return Promise.resolve(this.nodeList);
  }
  volume(name: string): Promise<EngineVolume | null> {
    return Promise.resolve(this.volumesByName.get(name) ?? null);
  }
  createVolume(input: CreateVolumeInput): Promise<EngineVolume> {
    this.lastCreate = input;
    if (input.encrypted && !this.hasKms) {
      return Promise.reject(new EngineError("INVALID", "encrypted volumes need a key-encryption key on the node handling the request: start it with --kms-key-file"));
    }
    const v: EngineVolume = {
      id: input.name,
      sizeBytes: input.size,
      replicasWanted: input.replicas,
      encrypted: input.encrypted ?? false,
      epoch: 1,
      target: input.target ?? null,
      replicas: [],
      snapshots: [],
      source: null,
      populating: false,
      usedBytes: 0,
    };
    if (this.raceOnCreate) {
      this.volumesByName.set(input.name, v);
      return Promise.reject(new EngineError("EXISTS", `volume ${input.name} already exists`));
    }
    if (this.volumesByName.has(input.name)) return Promise.reject(new EngineError("EXISTS", "exists"));
    this.creates++;
    this.volumesByName.set(input.name, v);
    return Promise.resolve(v);
  }
  createSnapshot(volume: string, name: string): Promise<EngineSnapshot> {
    const v = this.volumesByName.get(volume);
    if (!v) return Promise.reject(new EngineError("NOT_FOUND", `volume ${volume} not found`));
    const snap = { name, createdAt: "2026-11-21T12:00:00.000Z", replicaIds: ["r1", "r2", "r3"] };
    if (this.raceOnSnapshot) {
      v.snapshots.push(snap);
      return Promise.reject(new EngineError("EXISTS", `snapshot ${name} already exists`));
    }
    if (v.snapshots.some((s) => s.name === name)) return Promise.reject(new EngineError("EXISTS", "exists"));
    this.snapshotCreates++;
    v.snapshots.push(snap);
    return Promise.resolve(snap);
  }
  snapshots(volume: string): Promise<EngineSnapshot[]> {
    return Promise.resolve(this.volumesByName.get(volume)?.snapshots ?? []);
  }
  deleteVolume(name: string): Promise<void> {
    if (!this.volumesByName.delete(name)) return Promise.reject(new EngineError("NOT_FOUND", `volume ${name} not found`));
    return Promise.resolve();
  }
}

const progress = () => Promise.resolve();
const create = (params: Partial<Extract<Command, { type: "volume.create" }>["params"]> = {}): Command => ({
  id: "c1",
  type: "volume.create",
  params: { name: "data", sizeBytes: 1 << 20, replicas: 3, encrypted: false, ...params },
});

function setup(): { fake: FakeAdmin; executor: EngineCommandExecutor } {
  const fake = new FakeAdmin();
  return { fake, executor: new EngineCommandExecutor(fake as unknown as ClusterAdminClient) };
}

describe("EngineCommandExecutor", () => {
  it("creates a volume once, on the least provisioned node, and answers a repeat with the same result", async () => {
    const { fake, executor } = setup();
    const a = await executor.execute(create(), progress);
    const b = await executor.execute(create(), progress);
    expect(fake.creates).toBe(1);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ volumeId: "data", targetNodeId: "n3" });
  });

  it("treats a create that lost a race to the same command as done", async () => {
    const { fake, executor } = setup();
    fake.raceOnCreate = true;
    expect(await executor.execute(create(), progress)).toMatchObject({ volumeId: "data" });
  });

  it("refuses a name already used by a different volume, invalid names and sizes", async () => {
    const { executor } = setup();
    await executor.execute(create(), progress);
    await expect(executor.execute(create({ sizeBytes: 2 << 20 }), progress)).rejects.toThrow(/already exists/);
    await expect(executor.execute(create({ encrypted: true }), progress)).rejects.toThrow(/already exists .*not encrypted/);
    await expect(executor.execute(create({ name: "Bad Name" }), progress)).rejects.toThrow(/not valid/);
    await expect(executor.execute(create({ name: "odd", sizeBytes: 1000 }), progress)).rejects.toThrow(/multiple of 4096/);
  });

  it("creates an encrypted volume through the engine, once, and rejects it when the engine has no key", async () => {
    const { fake, executor } = setup();
    const a = await executor.execute(create({ name: "enc", encrypted: true }), progress);
    expect(a).toMatchObject({ volumeId: "enc" });
    expect(fake.lastCreate).toMatchObject({ name: "enc", encrypted: true });
    expect(fake.volumesByName.get("enc")?.encrypted).toBe(true);
    // A redelivery is the same volume; a plain volume of that name is a conflict.
    expect(await executor.execute(create({ name: "enc", encrypted: true }), progress)).toEqual(a);
    expect(fake.creates).toBe(1);
    await expect(executor.execute(create({ name: "enc" }), progress)).rejects.toThrow(/already exists .*, encrypted/);
    // A plain create does not ask for encryption.
    await executor.execute(create({ name: "plain" }), progress);
    expect(fake.lastCreate?.encrypted).toBeUndefined();

    fake.hasKms = false;
    await expect(executor.execute(create({ name: "enc2", encrypted: true }), progress)).rejects.toThrow(/--kms-key-file/);
    expect(fake.volumesByName.has("enc2")).toBe(false);
  });

  it("deletes idempotently", async () => {
    const { fake, executor } = setup();
    await executor.execute(create(), progress);
    const del: Command = { id: "d1", type: "volume.delete", params: { volumeId: "data" } };
    expect(await executor.execute(del, progress)).toEqual({ volumeId: "data", deleted: true });
    expect(await executor.execute(del, progress)).toEqual({ volumeId: "data", deleted: true, alreadyGone: true });
    expect(fake.volumesByName.size).toBe(0);
  });

  it("takes a snapshot once per name and reports the same snapshot to a redelivery or a lost race", async () => {
    const { fake, executor } = setup();
    await executor.execute(create(), progress);
    const snap: Command = { id: "s1", type: "snapshot.create", params: { volumeId: "data", name: "before-upgrade" } };
    const steps: number[] = [];
    const first = await executor.execute(snap, (p) => {
      steps.push(p);
      return Promise.resolve();
    });
    expect(first).toEqual({ snapshotId: "data@before-upgrade", volumeId: "data", name: "before-upgrade", createdAt: "2026-11-21T12:00:00.000Z", copies: 3 });
    expect(steps.length).toBeGreaterThan(0);
    expect(await executor.execute(snap, progress)).toEqual(first);
    expect(fake.snapshotCreates).toBe(1);

    fake.raceOnSnapshot = true;
    expect(await executor.execute({ ...snap, params: { volumeId: "data", name: "raced" } }, progress)).toMatchObject({ snapshotId: "data@raced" });
  });

  it("refuses snapshots of unknown volumes and invalid names without taking one", async () => {
    const { fake, executor } = setup();
    await executor.execute(create(), progress);
    await expect(executor.execute({ id: "s1", type: "snapshot.create", params: { volumeId: "nope", name: "s" } }, progress)).rejects.toThrow(/does not exist/);
    await expect(executor.execute({ id: "s2", type: "snapshot.create", params: { volumeId: "data", name: "Before Upgrade" } }, progress)).rejects.toThrow(/not valid/);
    expect(fake.snapshotCreates).toBe(0);
  });

  it("pickTarget prefers the least provisioned node", () => {
    expect(pickTarget([])).toBeUndefined();
    expect(pickTarget([{ id: "b", address: "", capacityBytes: 1, provisionedBytes: 5, controller: false }, { id: "a", address: "", capacityBytes: 1, provisionedBytes: 5, controller: false }])).toBe("a");
  });
});
