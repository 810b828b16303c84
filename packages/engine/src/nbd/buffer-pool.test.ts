import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool";

describe("BufferPool", () => {
  it("hands out power-of-two classes and reuses released buffers", () => {
    const pool = new BufferPool(8 * 1024 * 1024, 64 * 1024);
    const a = pool.acquire(1024 * 1024 + 1);
    expect(a.length).toBe(2 * 1024 * 1024);
    pool.release(a);
    expect(pool.bytesPooled).toBe(2 * 1024 * 1024);
    expect(pool.acquire(1536 * 1024)).toBe(a);
    expect(pool.bytesPooled).toBe(0);
  });

  it("does not pool small buffers, views, or beyond its cap", () => {
    const pool = new BufferPool(1024 * 1024, 64 * 1024);
    const small = pool.acquire(4096);
    expect(small.length).toBe(4096);
    pool.release(small);
    pool.release(pool.acquire(1024 * 1024).subarray(0, 512 * 1024));
    expect(pool.bytesPooled).toBe(0);
    pool.release(pool.acquire(1024 * 1024));
    pool.release(Buffer.allocUnsafe(1024 * 1024));
    expect(pool.bytesPooled).toBe(1024 * 1024);
  });
});
