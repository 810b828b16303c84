import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { Controller } from "./controller";
import { FakeListWatch, type FakeObject } from "./fake-list-watch";
import { Informer } from "./informer";

const log = pino({ level: "silent" });

/** A toy controller: every ConfigMap-like object wants a "mirror" in a store; extra mirrors are deleted. */
type Action = { type: "create"; value: string } | { type: "update"; value: string } | { type: "delete" };

/** The pure part, tested as a table. */
function reconcileMirror(desired: string | undefined, observed: string | undefined): Action[] {
  if (desired === undefined) return observed === undefined ? [] : [{ type: "delete" }];
  if (observed === undefined) return [{ type: "create", value: desired }];
  return observed === desired ? [] : [{ type: "update", value: desired }];
}

describe("reconcileMirror (pure)", () => {
  it.each([
    [undefined, undefined, []],
    ["a", undefined, [{ type: "create", value: "a" }]],
    ["a", "a", []],
    ["b", "a", [{ type: "update", value: "b" }]],
    [undefined, "a", [{ type: "delete" }]],
  ] as const)("desired %s observed %s", (desired, observed, actions) => {
    expect(reconcileMirror(desired, observed)).toEqual(actions);
  });
});

const controllers: Array<Controller<string | undefined, string | undefined, Action>> = [];
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop()));
});

function mirrorController(src: FakeListWatch, opts: { failFirst?: number; slowMs?: number } = {}) {
  const informer = new Informer<FakeObject>({ name: "fakes", source: src, parse: (raw) => raw as FakeObject /* the fake only makes FakeObjects */, log, backoff: { baseMs: 5, capMs: 20, jitter: "full" } });
  const mirror = new Map<string, string>();
  const executed: string[] = [];
  let running = 0;
  let maxConcurrentPerKey = 0;
  const runningKeys = new Map<string, number>();
  let failures = opts.failFirst ?? 0;
  const c = new Controller<string | undefined, string | undefined, Action>({
    name: "mirror",
    watches: [{ informer }],
    snapshot: (key) => ({ desired: informer.get(key)?.data?.v, observed: mirror.get(key) }),
    reconcile: reconcileMirror,
    execute: async (action, { key }) => {
      running++;
      runningKeys.set(key, (runningKeys.get(key) ?? 0) + 1);
      maxConcurrentPerKey = Math.max(maxConcurrentPerKey, runningKeys.get(key) ?? 0);
      try {
        if (opts.slowMs) await new Promise((r) => setTimeout(r, opts.slowMs));
        if (failures > 0) {
          failures--;
          throw new Error("engine unavailable");
        }
        executed.push(`${action.type} ${key}`);
        if (action.type === "delete") mirror.delete(key);
        else mirror.set(key, action.value);
      } finally {
        running--;
        runningKeys.set(key, (runningKeys.get(key) ?? 1) - 1);
      }
    },
    log,
    workers: 4,
    queue: { backoff: { baseMs: 5, capMs: 50, jitter: "none" } },
  });
  controllers.push(c);
  return { c, mirror, executed, maxPerKey: () => maxConcurrentPerKey, running: () => running };
}

const until = <T>(check: () => T | undefined | false, what: string) => pollUntil(check, { what, timeoutMs: 5_000, intervalMs: 5 });

describe("Controller", () => {
  it("drives observed state to desired through add, update and delete", async () => {
    const src = new FakeListWatch();
    src.put("a", { v: "1" });
    const m = mirrorController(src);
    await m.c.start();
    await until(() => m.mirror.get("a") === "1", "a mirrored");
    src.put("b", { v: "2" });
    src.put("a", { v: "3" });
    await until(() => m.mirror.get("a") === "3" && m.mirror.get("b") === "2", "update and add");
    src.remove("a");
    await until(() => !m.mirror.has("a"), "a's mirror deleted");
  });

  it("retries a failing key with backoff until it succeeds", async () => {
    const src = new FakeListWatch();
    src.put("a", { v: "1" });
    const m = mirrorController(src, { failFirst: 3 });
    await m.c.start();
    await until(() => m.mirror.get("a") === "1", "a mirrored after retries");
    expect(m.executed).toEqual(["create a"]);
  });

  it("never runs one key on two workers, even when it changes while being reconciled", async () => {
    const src = new FakeListWatch();
    src.put("a", { v: "0" });
    const m = mirrorController(src, { slowMs: 20 });
    await m.c.start();
    for (let i = 1; i <= 10; i++) src.put("a", { v: String(i) });
    await until(() => m.mirror.get("a") === "10", "the last value");
    expect(m.maxPerKey()).toBe(1);
  });
});
