import { describe, expect, it } from "vitest";
import { RangeLock } from "./range-lock";

describe("RangeLock", () => {
  it("grants non-overlapping and shared requests at once", async () => {
    const l = new RangeLock();
    const a = await l.acquire(0, 10, true);
    const b = await l.acquire(10, 20, true);
    const r1 = await l.acquire(30, 40, false);
    const r2 = await l.acquire(35, 45, false);
    expect(l.size).toBe(4);
    for (const h of [a, b, r1, r2]) l.release(h);
    expect(l.size).toBe(0);
  });

  it("orders overlapping requests FIFO, including behind waiters", async () => {
    const l = new RangeLock();
    const order: string[] = [];
    const first = await l.acquire(0, 10, true);
    const second = l.acquire(5, 15, true).then((h) => {
      order.push("second");
      return h;
    });
    // Overlaps only the waiting second request, not the holder: still waits for it.
    const third = l.acquire(12, 20, true).then((h) => {
      order.push("third");
      return h;
    });
    // Overlaps only the holder: runs as soon as the holder is gone, beside "second".
    const reader = l.acquire(0, 1, false).then((h) => {
      order.push("reader");
      return h;
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    l.release(first);
    const h2 = await second;
    const hr = await reader;
    expect(order).toEqual(["second", "reader"]);
    l.release(h2);
    l.release(await third);
    l.release(hr);
    expect(order).toEqual(["second", "reader", "third"]);
  });

  it("a whole-device exclusive lock waits for all and blocks later requests", async () => {
    const l = new RangeLock();
    const io = await l.acquire(100, 101, false);
    let gotAll = false;
    const all = l.acquire(0, Infinity, true).then((h) => {
      gotAll = true;
      return h;
    });
    let gotLater = false;
    const later = l.acquire(5000, 5001, false).then((h) => {
      gotLater = true;
      return h;
    });
    await Promise.resolve();
    expect(gotAll).toBe(false);
    l.release(io);
    l.release(await all);
    l.release(await later);
    expect(gotLater).toBe(true);
  });
});
