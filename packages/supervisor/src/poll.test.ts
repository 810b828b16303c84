import { describe, expect, it } from "vitest";
import { pollUntil, withTimeout } from "./poll";

describe("pollUntil", () => {
  it("resolves with the first value that is not undefined or false, null included", async () => {
    let n = 0;
    await expect(pollUntil(() => (++n >= 3 ? n : false), { what: "three calls", intervalMs: 1 })).resolves.toBe(3);
    await expect(pollUntil(() => null, { what: "a final answer" })).resolves.toBeNull();
  });

  it("times out naming what it waited for and the last error", async () => {
    await expect(
      pollUntil(
        () => {
          throw new Error("connection refused");
        },
        { what: "etcd to be healthy", timeoutMs: 50, intervalMs: 10 },
      ),
    ).rejects.toThrow("timed out after 0.05s waiting for etcd to be healthy (last error: connection refused)");
  });

  it("stops when its signal aborts", async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("the process exited")), 20);
    await expect(pollUntil(() => false, { what: "never", timeoutMs: 10_000, intervalMs: 5_000, signal: ctl.signal })).rejects.toThrow("the process exited");
  });
});

describe("withTimeout", () => {
  it("answers timeout for a promise that does not settle in time", async () => {
    expect(await withTimeout(new Promise(() => undefined), 10)).toBe("timeout");
    expect(await withTimeout(Promise.resolve(1), 1_000)).toBe(1);
  });
});
