import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { FakeListWatch, type FakeObject } from "./fake-list-watch";
import { Informer, type InformerMetric } from "./informer";

const log = pino({ level: "silent" });
const informers: Array<Informer<FakeObject>> = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

function parseFake(raw: unknown): FakeObject {
  const obj = raw as FakeObject;
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") throw new Error("metadata.name: required");
  return obj;
}

function informer(source: FakeListWatch, opts: { stallTimeoutMs?: number; metrics?: InformerMetric[] } = {}) {
  const seen: string[] = [];
  const inf = new Informer<FakeObject>({
    name: "fakes",
    source,
    parse: parseFake,
    log,
    backoff: { baseMs: 5, capMs: 20, jitter: "full" },
    ...(opts.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: opts.stallTimeoutMs }),
    onMetric: (m) => opts.metrics?.push(m),
  });
  inf.on({ event: "add", handle: (o) => seen.push(`add ${o.metadata.name}`) });
  inf.on({ event: "update", handle: (o, old) => seen.push(`update ${o.metadata.name} ${old.data?.v ?? ""}->${o.data?.v ?? ""}`) });
  inf.on({ event: "delete", handle: (o) => seen.push(`delete ${o.metadata.name}`) });
  informers.push(inf);
  return { inf, seen };
}

const until = <T>(check: () => T | undefined | false, what: string) => pollUntil(check, { what, timeoutMs: 5_000, intervalMs: 5 });

describe("Informer", () => {
  it("lists, then reports adds, updates and deletes from the watch, keeping the cache by key", async () => {
    const src = new FakeListWatch();
    src.put("a", { v: "1" });
    const { inf, seen } = informer(src);
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get("a")?.data?.v).toBe("1");
    await until(() => src.openWatchCount() === 1, "the watch to open");
    src.put("b");
    src.put("a", { v: "2" });
    src.remove("b");
    await until(() => seen.length === 4, "four events");
    expect(seen).toEqual(["add a", "add b", "update a 1->2", "delete b"]);
    expect(inf.keys()).toEqual(["a"]);
    expect(src.calls.filter((c) => c.op === "list")).toHaveLength(1);
  });

  it("resumes from the last resourceVersion after the watch ends, replaying what it missed without a relist", async () => {
    const src = new FakeListWatch();
    const { inf, seen } = informer(src);
    inf.start();
    await inf.waitForSync();
    await until(() => src.openWatchCount() === 1, "the watch to open");
    src.put("a");
    await until(() => seen.length === 1, "the add");
    const rvAfterA = inf.lastResourceVersion;
    src.silent = true;
    src.put("b"); // the open watch never delivers this one
    src.silent = false;
    src.closeWatches();
    await until(() => seen.includes("add b"), "the missed add replayed");
    const watches = src.calls.flatMap((c) => (c.op === "watch" ? [c.resourceVersion] : []));
    expect(watches.at(-1)).toBe(rvAfterA);
    expect(src.calls.filter((c) => c.op === "list")).toHaveLength(1);
  });

  it("moves its resume point forward on a BOOKMARK", async () => {
    const src = new FakeListWatch();
    const { inf } = informer(src);
    inf.start();
    await inf.waitForSync();
    await until(() => src.openWatchCount() === 1, "the watch to open");
    const before = Number(inf.lastResourceVersion);
    src.silent = true;
    src.put("elsewhere"); // advances the global RV invisibly, as another namespace would
    src.silent = false;
    src.bookmark();
    await until(() => Number(inf.lastResourceVersion) > before, "the bookmark's RV");
  });

  it("relists on ERROR 410 and reports a delete it never saw as an event", async () => {
    const src = new FakeListWatch();
    src.put("a");
    src.put("b");
    const metrics: InformerMetric[] = [];
    const { inf, seen } = informer(src, { metrics });
    inf.start();
    await inf.waitForSync();
    await until(() => src.openWatchCount() === 1, "the watch to open");
    src.silent = true;
    src.remove("b");
    src.put("c");
    src.compact();
    src.silent = false;
    src.closeWatches();
    await until(() => seen.includes("delete b") && seen.includes("add c"), "the relist diff");
    expect(src.calls.filter((c) => c.op === "list")).toHaveLength(2);
    expect(metrics).toContainEqual({ type: "relist", reason: "gone" });
    expect(inf.keys().sort()).toEqual(["a", "c"]);
  });

  it("relists when the watch request itself answers 410", async () => {
    const src = new FakeListWatch();
    const { inf } = informer(src);
    inf.start();
    await inf.waitForSync();
    await until(() => src.openWatchCount() === 1, "the watch to open");
    src.failWith = Object.assign(new Error("Gone"), { statusCode: 410 });
    src.closeWatches();
    await until(() => src.calls.filter((c) => c.op === "list").length >= 2, "a relist");
    src.failWith = undefined;
    await until(() => src.openWatchCount() === 1, "the watch to reopen");
  });

  it("retries with backoff while the server is down and carries on once it is back", async () => {
    const src = new FakeListWatch();
    src.failWith = new Error("ECONNREFUSED");
    const { inf } = informer(src);
    inf.start();
    await until(() => src.calls.length >= 3, "a few failed lists");
    expect(inf.hasSynced()).toBe(false);
    src.failWith = undefined;
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
  });

  it("restarts a watch that delivers nothing for the stall timeout, from the same resourceVersion", async () => {
    const src = new FakeListWatch();
    src.put("a");
    const metrics: InformerMetric[] = [];
    const { inf } = informer(src, { stallTimeoutMs: 50, metrics });
    src.silent = true;
    inf.start();
    await inf.waitForSync();
    const rv = inf.lastResourceVersion;
    await until(() => src.calls.filter((c) => c.op === "watch").length >= 3, "the stalled watch to be restarted");
    expect(metrics).toContainEqual({ type: "watch-end", reason: "stalled" });
    expect(src.calls.flatMap((c) => (c.op === "watch" ? [c.resourceVersion] : []))).toEqual(expect.arrayContaining([rv]));
    expect(src.calls.filter((c) => c.op === "list")).toHaveLength(1);
  });

  it("skips an object that fails to parse and keeps going", async () => {
    const src = new FakeListWatch();
    const metrics: InformerMetric[] = [];
    const { inf, seen } = informer(src, { metrics });
    inf.start();
    await inf.waitForSync();
    await until(() => src.openWatchCount() === 1, "the watch to open");
    const bad = src.put("");
    src.put("good");
    await until(() => seen.includes("add good"), "the good add");
    expect(metrics).toContainEqual({ type: "invalid-object", key: bad.metadata.name });
  });

  it("stop ends the watch and a pending backoff at once", async () => {
    const src = new FakeListWatch();
    src.failWith = new Error("down");
    const { inf } = informer(src);
    inf.start();
    await until(() => src.calls.length >= 1, "a first try");
    const t = Date.now();
    await inf.stop();
    expect(Date.now() - t).toBeLessThan(1_000);
  });
});
