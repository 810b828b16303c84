import { ApiException, type CoreV1Api, type CoreV1Event } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "./events";

type Api = Pick<CoreV1Api, "createNamespacedEvent" | "patchNamespacedEvent">;

function fakeApi() {
  const created: CoreV1Event[] = [];
  const patches: Array<{ name: string; body: unknown }> = [];
  let expired = false;
  const api: Api = {
    createNamespacedEvent: async ({ body }) => {
      created.push(body);
      return body;
    },
    patchNamespacedEvent: async ({ name, body }) => {
      if (expired) throw new ApiException(404, "NotFound", "{}", {});
      patches.push({ name, body });
      return {} as CoreV1Event;
    },
  };
  return { api, created, patches, expire: () => (expired = true) };
}

const log = pino({ level: "silent" });
const node = { apiVersion: "stowage.io/v1alpha1", kind: "StorageNode", name: "n1", uid: "u-1" };

describe("EventRecorder", () => {
  it("creates a core/v1 Event naming the object and reporting controller, in default for a cluster-scoped object", async () => {
    const f = fakeApi();
    const rec = new EventRecorder({ api: f.api, reportingController: "stowage.io/agent", reportingInstance: "pod-a", log });
    await rec.record(node, "Warning", "PoolFull", "pool is 95% full");
    expect(f.created).toHaveLength(1);
    expect(f.created[0]).toMatchObject({ metadata: { namespace: "default" }, involvedObject: { kind: "StorageNode", name: "n1", uid: "u-1" }, type: "Warning", reason: "PoolFull", count: 1, reportingComponent: "stowage.io/agent", reportingInstance: "pod-a" });
    expect(f.created[0]?.metadata?.name).toMatch(/^n1\.[0-9a-f]+$/);
  });

  it("turns a repeat into a count update of the same Event, at most once per interval, and flush writes the rest", async () => {
    let now = 1_000_000;
    const f = fakeApi();
    const rec = new EventRecorder({ api: f.api, reportingController: "csi.stowage.io", reportingInstance: "p", log, minUpdateIntervalMs: 10_000, now: () => now });
    await rec.record(node, "Normal", "Attached", "volume v attached");
    now += 20_000;
    await rec.record(node, "Normal", "Attached", "volume v attached");
    expect(f.patches).toEqual([{ name: f.created[0]?.metadata?.name, body: { count: 2, lastTimestamp: new Date(now).toISOString().slice(0, 19) + "Z" } }]);
    now += 1_000;
    await rec.record(node, "Normal", "Attached", "volume v attached");
    await rec.record(node, "Normal", "Attached", "volume v attached");
    expect(f.patches).toHaveLength(1); // within the interval: accumulated
    await rec.flush();
    expect(f.patches.at(-1)?.body).toMatchObject({ count: 4 });
    expect(f.created).toHaveLength(1);
  });

  it("a different message, reason or object is a new Event", async () => {
    const f = fakeApi();
    const rec = new EventRecorder({ api: f.api, reportingController: "stowage.io/agent", reportingInstance: "p", log });
    await rec.record(node, "Normal", "Up", "a");
    await rec.record(node, "Normal", "Up", "b");
    await rec.record(node, "Normal", "Down", "a");
    await rec.record({ ...node, name: "n2", uid: "u-2" }, "Normal", "Up", "a");
    expect(f.created).toHaveLength(4);
  });

  it("rate limits new Events per object: a burst, then one per refill interval", async () => {
    let now = 0;
    const f = fakeApi();
    const rec = new EventRecorder({ api: f.api, reportingController: "stowage.io/agent", reportingInstance: "p", log, burst: 3, refillIntervalMs: 60_000, now: () => now });
    for (let i = 0; i < 5; i++) await rec.record(node, "Warning", "Flap", `flap ${i}`);
    expect(f.created).toHaveLength(3);
    expect(rec.dropped).toBe(2);
    await rec.record({ ...node, name: "other", uid: "u-9" }, "Warning", "Flap", "x");
    expect(f.created).toHaveLength(4);
    now += 60_000;
    await rec.record(node, "Warning", "Flap", "flap 5");
    await rec.record(node, "Warning", "Flap", "flap 6");
    expect(f.created).toHaveLength(5);
  });

  it("starts a new Event when the old one expired", async () => {
    let now = 0;
    const f = fakeApi();
    const rec = new EventRecorder({ api: f.api, reportingController: "stowage.io/agent", reportingInstance: "p", log, minUpdateIntervalMs: 0, now: () => now });
    await rec.record(node, "Normal", "Up", "a");
    f.expire();
    now += 1_000;
    await rec.record(node, "Normal", "Up", "a");
    expect(f.created).toHaveLength(2);
    expect(f.created[1]).toMatchObject({ count: 2 });
  });
});
