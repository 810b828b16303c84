import type { Command } from "@stowage/agent-protocol";
import { describe, expect, it } from "vitest";
import { EngineAdminError, type CreateVolumeInput, type EngineAdmin, type EngineNode, type EngineVolume } from "./engine-admin";
import { EngineCommandExecutor, pickTarget } from "./executor";

/** An in-memory cluster answering like the engine's admin API. */
class FakeAdmin {
  readonly volumesByName = new Map<string, EngineVolume>();
  creates = 0;
  /** Simulates a concurrent delivery: the volume appears between the lookup and the create. */
  raceOnCreate = false;
  readonly nodeList: EngineNode[] = ["n1", "n2", "n3"].map((id, i) => ({ id, address: "x", capacityBytes: 100, provisionedBytes: 30 - i * 10, controller: false }));

  nodes(): Promise<EngineNode[]> {
    return Promise.resolve(this.nodeList);
  }
  volume(name: string): Promise<EngineVolume | null> {
    return Promise.resolve(this.volumesByName.get(name) ?? null);
  }
  createVolume(input: CreateVolumeInput): Promise<EngineVolume> {
    const v: EngineVolume = { id: input.name, sizeBytes: input.size, replicasWanted: input.replicas, epoch: 1, target: input.target ?? null, replicas: [] };
    if (this.raceOnCreate) {
      this.volumesByName.set(input.name, v);
      return Promise.reject(new EngineAdminError("EXISTS", `volume ${input.name} already exists`));
    }
    if (this.volumesByName.has(input.name)) return Promise.reject(new EngineAdminError("EXISTS", "exists"));
    this.creates++;
    this.volumesByName.set(input.name, v);
    return Promise.resolve(v);
  }
  deleteVolume(name: string): Promise<void> {
    if (!this.volumesByName.delete(name)) return Promise.reject(new EngineAdminError("NOT_FOUND", `volume ${name} not found`));
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
  return { fake, executor: new EngineCommandExecutor(fake as unknown as EngineAdmin) };
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

  it("refuses a name already used by a different volume, invalid names, sizes and encryption", async () => {
    const { executor } = setup();
    await executor.execute(create(), progress);
    await expect(executor.execute(create({ sizeBytes: 2 << 20 }), progress)).rejects.toThrow(/already exists/);
    await expect(executor.execute(create({ name: "Bad Name" }), progress)).rejects.toThrow(/not valid/);
    await expect(executor.execute(create({ name: "odd", sizeBytes: 1000 }), progress)).rejects.toThrow(/multiple of 4096/);
    await expect(executor.execute(create({ name: "enc", encrypted: true }), progress)).rejects.toThrow(/encrypted/);
  });

  it("deletes idempotently and fails snapshots honestly", async () => {
    const { fake, executor } = setup();
    await executor.execute(create(), progress);
    const del: Command = { id: "d1", type: "volume.delete", params: { volumeId: "data" } };
    expect(await executor.execute(del, progress)).toEqual({ volumeId: "data", deleted: true });
    expect(await executor.execute(del, progress)).toEqual({ volumeId: "data", deleted: true, alreadyGone: true });
    expect(fake.volumesByName.size).toBe(0);
    await expect(executor.execute({ id: "s1", type: "snapshot.create", params: { volumeId: "data", name: "s" } }, progress)).rejects.toThrow(/not supported/);
  });

  it("pickTarget prefers the least provisioned node", () => {
    expect(pickTarget([])).toBeUndefined();
    expect(pickTarget([{ id: "b", address: "", capacityBytes: 1, provisionedBytes: 5, controller: false }, { id: "a", address: "", capacityBytes: 1, provisionedBytes: 5, controller: false }])).toBe("a");
  });
});
