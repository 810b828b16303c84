import { describe, expect, it } from "vitest";
import { ServiceGroup, waitForSignal, type Service } from "./service";

function recorder() {
  const events: string[] = [];
  const log = { info: (f: Record<string, unknown>, msg: string) => events.push(`${msg}:${String(f.service)}`), warn: (f: Record<string, unknown>, msg: string) => events.push(`${msg}:${String(f.service)}`) };
  return { events, log };
}

const service = (name: string, stop: () => Promise<void> = async () => undefined, stopTimeoutMs?: number): Service => ({ name, start: async () => undefined, stop, ...(stopTimeoutMs === undefined ? {} : { stopTimeoutMs }) });

describe("ServiceGroup", () => {
  it("stops in reverse order, giving up on a wedged stop after the limit and going on", async () => {
    const { events, log } = recorder();
    const group = new ServiceGroup(log, 50);
    await group.start([service("db"), service("web", () => new Promise(() => undefined)), service("fleet", () => Promise.reject(new Error("boom")))]);
    await group.stop();
    expect(events.filter((e) => !e.startsWith("starting"))).toEqual(["service stop failed:fleet", "service did not stop in time:web", "stopped:db"]);
  });

  it("gives a service its own stop limit", async () => {
    const { events, log } = recorder();
    const group = new ServiceGroup(log, 10);
    await group.start([service("slow", () => new Promise((r) => setTimeout(r, 50)), 1_000)]);
    await group.stop();
    expect(events).toContain("stopped:slow");
  });
});

describe("waitForSignal", () => {
  it("answers the first signal and absorbs the ones after it, so a stop in progress is not cut short", async () => {
    const first = waitForSignal(["SIGUSR2"]);
    process.kill(process.pid, "SIGUSR2");
    expect(await first).toBe("SIGUSR2");
    // Still handled: a second signal (the parent's SIGTERM after the terminal's SIGINT) finds this
    // handler instead of the default action, which would end the process in the middle of its stop.
    expect(process.listenerCount("SIGUSR2")).toBe(1);
  });
});
