import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "./workqueue";

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("hands out each waiting key once however often it was added, in order", async () => {
    const q = new WorkQueue();
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
  });

  it("never hands a key being processed to a second worker, and runs it again after done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const first = await q.get();
    q.add("a");
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first ?? "");
    await vi.waitFor(() => expect(second).toBe("a"));
  });

  it("does not run a key again after done unless it was added meanwhile", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.done((await q.get()) ?? "");
    expect(q.length).toBe(0);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add("x");
    await expect(got).resolves.toBe("x");
  });

  it("backs a failing key off exponentially and forget restarts the schedule", () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ backoff: { baseMs: 10, capMs: 50, jitter: "none" } });
    expect([q.addRateLimited("a"), q.addRateLimited("b"), q.addRateLimited("a"), q.addRateLimited("a"), q.addRateLimited("a")]).toEqual([10, 10, 20, 40, 50]);
    expect(q.retries("a")).toBe(4);
    q.forget("a");
    expect(q.retries("a")).toBe(0);
    expect(q.addRateLimited("a")).toBe(10);
  });

  it("adds a delayed key only when its time comes, keeping the sooner of two delays", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter("a", 100);
    q.addAfter("a", 500);
    q.addAfter("b", 300);
    vi.advanceTimersByTime(99);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(200);
    expect(q.length).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(q.length).toBe(2);
    expect([await q.get(), await q.get()]).toEqual(["a", "b"]);
  });

  it("shutDown releases waiting workers and drops delayed keys", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    const waiting = q.get();
    q.addAfter("later", 10);
    q.shutDown();
    await expect(waiting).resolves.toBeUndefined();
    vi.advanceTimersByTime(100);
    q.add("x");
    await expect(q.get()).resolves.toBeUndefined();
  });
});
