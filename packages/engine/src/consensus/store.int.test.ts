import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startEtcd, type PrivateEtcd } from "@stowage/testing/etcd";
import { RECORD_VERSION, keys, volumeRecordSchema, type VolumeRecord } from "./records";
import { ConsensusStore } from "./store";

let etcd: PrivateEtcd;
let store: ConsensusStore;

beforeAll(async () => {
  etcd = await startEtcd();
  store = new ConsensusStore([etcd.endpoint], `/t-${process.pid}/`);
});
afterAll(async () => {
  store.close();
  await etcd.stop();
});

const record = (id: string): VolumeRecord => ({
  v: RECORD_VERSION,
  id,
  spec: { sizeBytes: 1 << 30, replicas: 2, encrypted: false },
  epoch: 1,
  target: { nodeId: "n1" },
  replicas: [
    { id: "r1", nodeId: "n1", state: "healthy", outOfSyncSince: null },
    { id: "r2", nodeId: "n2", state: "healthy", outOfSyncSince: null },
  ],
  inSync: ["r1", "r2"],
  snapshots: [],
});

describe("ConsensusStore on a real etcd", () => {
  it("creates a record once", async () => {
    expect(await store.create(keys.volume("v1"), record("v1"))).not.toBeNull();
    expect(await store.create(keys.volume("v1"), record("v1"))).toBeNull();
  });

  it("refuses a compare-and-swap against a stale revision", async () => {
    await store.create(keys.volume("v2"), record("v2"));
    const cur = await store.get(keys.volume("v2"), volumeRecordSchema);
    expect(cur).not.toBeNull();
    if (!cur) return;
    const first = await store.compareAndSwap(keys.volume("v2"), cur.revision, { ...cur.value, epoch: 2 });
    expect(first).not.toBeNull();
    // A second writer that read the same revision loses: this is what fences an old target.
    const second = await store.compareAndSwap(keys.volume("v2"), cur.revision, { ...cur.value, epoch: 99 });
    expect(second).toBeNull();
    expect((await store.get(keys.volume("v2"), volumeRecordSchema))?.value.epoch).toBe(2);
  });

  it("serialises concurrent updates without losing any", async () => {
    await store.create(keys.volume("v3"), record("v3"));
    await Promise.all(
      Array.from({ length: 10 }, () => store.update(keys.volume("v3"), volumeRecordSchema, (v) => ({ ...v, epoch: v.epoch + 1 }))),
    );
    expect((await store.get(keys.volume("v3"), volumeRecordSchema))?.value.epoch).toBe(11);
  });

  it("drops leased keys when the lease is revoked", async () => {
    const lease = await store.grantLease(5);
    await lease.put("nodes/lease-test", { hello: 1 });
    expect(await store.get("nodes/lease-test", z.object({ hello: z.number() }))).not.toBeNull();
    await lease.revoke();
    expect(await store.get("nodes/lease-test", z.object({ hello: z.number() }))).toBeNull();
  });

  it("reports watched changes", async () => {
    const seen: string[] = [];
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolve = r));
    const stop = await store.watchPrefix("watched/", (key, deleted) => {
      seen.push(`${deleted ? "-" : "+"}${key}`);
      if (seen.length === 2) resolve();
    });
    await store.create("watched/a", { a: 1 });
    const cur = await store.get("watched/a", z.object({ a: z.number() }));
    if (cur) await store.compareAndDelete("watched/a", cur.revision);
    await done;
    await stop();
    expect(seen).toEqual(["+watched/a", "-watched/a"]);
  });
});
