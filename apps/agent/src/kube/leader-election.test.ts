import { ApiException } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "@stowage/testing/poll";
import { LeaderElector, type LeaseRecord, type LeaseStore, type StoredLease } from "./leader-election";

const log = pino({ level: "silent" });

/** One Lease in memory with the API server's optimistic concurrency. */
class MemoryLease {
  lease: StoredLease | null = null;
  private rv = 1;
  writes: LeaseRecord[] = [];

  store(opts: { down?: () => boolean } = {}): LeaseStore {
    const check = () => {
      if (opts.down?.()) throw new Error("ECONNREFUSED");
    };
    return {
      get: async () => {
        check();
        return this.lease && structuredClone(this.lease);
      },
      create: async (record) => {
        check();
        if (this.lease) throw new ApiException(409, "AlreadyExists", JSON.stringify({ reason: "AlreadyExists" }), {});
        return this.write(record);
      },
      update: async (record, resourceVersion) => {
        check();
        if (this.lease?.resourceVersion !== resourceVersion) throw new ApiException(409, "Conflict", JSON.stringify({ reason: "Conflict" }), {});
        return this.write(record);
      },
    };
  }

  write(record: LeaseRecord): StoredLease {
    this.writes.push(structuredClone(record));
    this.lease = { record: structuredClone(record), resourceVersion: String(++this.rv) };
    return structuredClone(this.lease);
  }
}

const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

const timing = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 50 };

function elector(identity: string, store: LeaseStore, events: string[]): LeaderElector {
  const e = new LeaderElector({
    identity,
    store,
    log,
    ...timing,
    onStartedLeading: (signal) => {
      events.push(`${identity} leads`);
      signal.addEventListener("abort", () => events.push(`${identity} aborted`));
    },
    onStoppedLeading: () => events.push(`${identity} stops`),
  });
  electors.push(e);
  return e;
}

const until = <T>(check: () => T | undefined | false, what: string) => pollUntil(check, { what, timeoutMs: 5_000, intervalMs: 10 });

describe("LeaderElector", () => {
  it("one of two candidates leads; the other waits while the leader renews", async () => {
    const mem = new MemoryLease();
    const events: string[] = [];
    const a = elector("a", mem.store(), events);
    await a.start();
    await until(() => a.isLeader, "a to lead");
    const b = elector("b", mem.store(), events);
    await b.start();
    await until(() => mem.writes.length >= 10, "several renewals");
    expect(b.isLeader).toBe(false);
    expect(b.leader).toBe("a");
    expect(events).toEqual(["a leads"]);
    expect(mem.lease?.record).toMatchObject({ holderIdentity: "a", leaseDurationSeconds: 1, leaseTransitions: 0 });
    // Renewals move renewTime, never acquireTime.
    expect(new Set(mem.writes.map((w) => w.acquireTimeMs)).size).toBe(1);
  });

  it("a graceful stop releases the Lease and the other candidate leads at once", async () => {
    const mem = new MemoryLease();
    const events: string[] = [];
    const a = elector("a", mem.store(), events);
    await a.start();
    await until(() => a.isLeader, "a to lead");
    const b = elector("b", mem.store(), events);
    await b.start();
    await until(() => b.leader === "a", "b to observe a");
    const stoppedAt = Date.now();
    await a.stop();
    expect(mem.lease?.record.holderIdentity).toBe("");
    await until(() => b.isLeader, "b to lead");
    expect(Date.now() - stoppedAt).toBeLessThan(timing.leaseDurationMs);
    expect(mem.lease?.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    expect(events).toEqual(["a leads", "a aborted", "a stops", "b leads"]);
  });

  it("a leader cut off from the API server steps down before another takes over", async () => {
    const mem = new MemoryLease();
    const events: string[] = [];
    const times: Record<string, number> = {};
    let aDown = false;
    const a = elector("a", mem.store({ down: () => aDown }), events);
    await a.start();
    await until(() => a.isLeader, "a to lead");
    const b = elector("b", mem.store(), events);
    await b.start();
    await until(() => b.leader === "a", "b to observe a");
    aDown = true;
    const cutAt = Date.now();
    await until(() => !a.isLeader && (times.aStopped = Date.now()), "a to step down");
    await until(() => b.isLeader && (times.bLeads = Date.now()), "b to take over");
    expect((times.aStopped ?? 0) - cutAt).toBeLessThanOrEqual(timing.renewDeadlineMs + 100);
    expect(times.bLeads ?? 0).toBeGreaterThan(times.aStopped ?? Infinity);
    expect((times.bLeads ?? 0) - cutAt).toBeGreaterThanOrEqual(timing.leaseDurationMs - timing.retryPeriodMs * 2);
    expect(events).toEqual(["a leads", "a aborted", "a stops", "b leads"]);
  });

  it("on a conflicting write it re-reads and never overwrites a newer holder", async () => {
    const mem = new MemoryLease();
    const events: string[] = [];
    const a = elector("a", mem.store(), events);
    await a.start();
    await until(() => a.isLeader, "a to lead");
    // Another writer (an operator, or a candidate with a skewed view) takes the Lease.
    const stolen = mem.write({ holderIdentity: "z", leaseDurationSeconds: 30, acquireTimeMs: Date.now(), renewTimeMs: Date.now(), leaseTransitions: 1 });
    await until(() => !a.isLeader, "a to notice");
    await until(() => mem.writes.length >= 1 && a.leader === "z", "a to observe z");
    expect(mem.lease?.record.holderIdentity).toBe("z");
    expect(mem.lease?.resourceVersion).toBe(stolen.resourceVersion);
    expect(events).toEqual(["a leads", "a aborted", "a stops"]);
  });

  it("takes over a Lease whose holder stopped renewing, counting the transition", async () => {
    const mem = new MemoryLease();
    mem.write({ holderIdentity: "gone", leaseDurationSeconds: 1, acquireTimeMs: 0, renewTimeMs: 0, leaseTransitions: 4 });
    const events: string[] = [];
    const startedAt = Date.now();
    const a = elector("a", mem.store(), events);
    await a.start();
    await until(() => a.isLeader, "a to take over");
    // Expiry is judged by our clock from when we first saw the record, not the holder's renewTime.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(mem.lease?.record).toMatchObject({ holderIdentity: "a", leaseTransitions: 5 });
  });

  it("rejects timings where a leader could outlive its lease", () => {
    expect(() => new LeaderElector({ identity: "x", store: new MemoryLease().store(), log, leaseDurationMs: 1_000, renewDeadlineMs: 1_000, onStartedLeading: () => undefined })).toThrow(/renewDeadlineMs/);
  });
});
