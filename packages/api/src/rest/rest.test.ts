import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { requestHash } from "./idempotency";
import { RateLimiter } from "./rate-limit";

describe("rate limiter", () => {
  it("allows `limit` per window, then refuses until the window resets", () => {
    let now = 1_000_000;
    const rl = new RateLimiter(2, 10_000, () => now);
    expect(rl.take("k").allowed).toBe(true);
    expect(rl.take("k")).toMatchObject({ allowed: true, remaining: 0 });
    const refused = rl.take("k");
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 10 });
    expect(rl.take("other").allowed).toBe(true);
    now += 10_000;
    expect(rl.take("k")).toMatchObject({ allowed: true, remaining: 1 });
    expect(rl.headers(refused)).toEqual({ "RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "10", "RateLimit-Policy": "2;w=10" });
  });
});

describe("idempotency request hash", () => {
  it("ignores key order and whitespace but not values", () => {
    expect(requestHash({ a: 1, b: { c: [1, 2] } })).toBe(requestHash(JSON.parse('{ "b": {"c":[1,2]}, "a": 1 }')));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
  });
});

describe("cursors", () => {
  it("round-trips and rejects garbage with a field error", () => {
    const pos = { createdAt: new Date("2026-01-02T03:04:05.678Z"), id: "0190f1c2-0000-7000-8000-000000000001" };
    expect(decodeCursor(encodeCursor(pos))).toEqual(pos);
    expect(() => decodeCursor("garbage")).toThrow(/Invalid cursor/);
  });
});
