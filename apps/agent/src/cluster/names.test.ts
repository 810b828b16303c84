/**
 * One name rule through every layer below the API: what the protocol's
 * command schemas accept, the executor accepts and the engine accepts (its
 * admin API's schemas and its pool), and all of them refuse the same names.
 * packages/api walks the same table through the API's create inputs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { commandSchema, type Command } from "@stowage/agent-protocol";
import { createVolumeRequestSchema, EngineError, Pool, snapshotSchema, type Volume } from "@stowage/engine";
import { NAME_CASES } from "@stowage/vocabulary/name-cases";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateVolumeInput, EngineSnapshot, EngineVolume } from "./engine-admin";
import { CommandRejected, EngineCommandExecutor } from "./executor";

const MiB = 1 << 20;

/** Just enough of the engine admin for the executor to get past its name checks. */
function fakeAdmin(): ConstructorParameters<typeof EngineCommandExecutor>[0] {
  const volume = (name: string): EngineVolume => ({
    id: name,
    sizeBytes: MiB,
    replicasWanted: 1,
    encrypted: false,
    epoch: 1,
    target: null,
    replicas: [],
    snapshots: [],
    usedBytes: 0,
    source: null,
    populating: false,
  });
  const admin = {
    nodes: () => Promise.resolve([{ id: "n1", address: "x", capacityBytes: 100, provisionedBytes: 0, controller: false }]),
    volume: (name: string) => Promise.resolve(name === "data" ? volume(name) : null),
    createVolume: (input: CreateVolumeInput) => Promise.resolve(volume(input.name)),
    createSnapshot: (_volume: string, name: string): Promise<EngineSnapshot> => Promise.resolve({ name, createdAt: "2026-12-04T00:00:00.000Z", replicaIds: ["r1"] }),
    snapshots: () => Promise.resolve([]),
    deleteVolume: () => Promise.resolve(),
  };
  // The executor needs only the calls above; the rest of the client is never reached.
  return admin as unknown as ConstructorParameters<typeof EngineCommandExecutor>[0];
}

async function accepted(run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (err) {
    if (err instanceof CommandRejected || (err instanceof EngineError && err.code === "INVALID")) return false;
    throw err;
  }
}

describe("volume and snapshot names through protocol, agent and engine", () => {
  const executor = new EngineCommandExecutor(fakeAdmin());
  const progress = () => Promise.resolve();
  let dir: string;
  let pool: Pool;
  let data: Volume;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stowage-names-"));
    pool = await Pool.open({ dir, capacityBytes: 4096 * MiB });
    data = await pool.createVolume({ name: "data", size: MiB });
  });
  afterAll(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(NAME_CASES)("$why: valid=$valid", async ({ name, valid }) => {
    // Typed as commands without parsing, so the executor also judges names the protocol would have refused.
    const createVolume: Command = { id: "c1", type: "volume.create", params: { name, sizeBytes: MiB, replicas: 1, encrypted: false } };
    const createSnapshot: Command = { id: "c2", type: "snapshot.create", params: { volumeId: "data", name } };

    expect(commandSchema.safeParse(createVolume).success, "protocol volume.create").toBe(valid);
    expect(commandSchema.safeParse(createSnapshot).success, "protocol snapshot.create").toBe(valid);
    expect(await accepted(() => executor.execute(createVolume, progress)), "executor volume.create").toBe(valid);
    expect(await accepted(() => executor.execute(createSnapshot, progress)), "executor snapshot.create").toBe(valid);

    expect(createVolumeRequestSchema.safeParse({ name, size: MiB }).success, "engine admin createVolume").toBe(valid);
    expect(snapshotSchema.safeParse({ volume: "data", name, createdAt: "2026-12-04T00:00:00.000Z" }).success, "engine admin snapshot").toBe(valid);
    expect(await accepted(() => pool.createVolume({ name, size: MiB })), "engine pool createVolume").toBe(valid);
    expect(await accepted(() => data.createSnapshot(name)), "engine volume createSnapshot").toBe(valid);
  });

  it("lets the pool hold the replica devices of a 63-character volume", async () => {
    const replica = `${"r".repeat(63)}-0123abcd`;
    expect(await accepted(() => pool.createVolume({ name: replica, size: MiB }))).toBe(true);
  });
});
