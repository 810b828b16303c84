import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff";

describe("Backoff", () => {
  it("widens the window exponentially up to the cap", () => {
    const b = new Backoff(100, 1000, () => 0.999999);
    const delays = Array.from({ length: 6 }, () => b.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it("draws jitter from the whole window", () => {
    const b = new Backoff(100, 1000, () => 0);
    expect(b.next()).toBe(0);
  });

  it("starts over after a success", () => {
    const b = new Backoff(100, 1000, () => 0.5);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(50);
  });
});
