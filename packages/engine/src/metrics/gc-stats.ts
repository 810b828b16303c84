/**
 * Garbage collections of this node process, by kind, for `GET /metrics`:
 *
 *   stowage_engine_gc_total{kind}          counter, collections since the process started
 *   stowage_engine_gc_seconds_total{kind}  counter, main-thread pause time they took
 *
 * kind is major (mark-compact), minor (scavenge), incremental (a marking step)
 * or weakcb (weak callbacks). A node receiving a stream that runs into full
 * collections back to back (see node/heap.ts) shows as a major count that
 * climbs with the bytes received.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

const KINDS: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [constants.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weakcb"],
]);

export class GcStats {
  /** Per kind, in the order of KINDS: collections and the seconds they took. */
  private readonly byKind = new Map<string, { count: number; seconds: number }>([...KINDS.values()].map((k) => [k, { count: 0, seconds: 0 }]));
  private observer: PerformanceObserver | null = null;

  /** Starts counting; idempotent. */
  start(): this {
    if (this.observer) return this;
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.add(e);
    });
    this.observer.observe({ entryTypes: ["gc"] });
    return this;
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
  }

  private add(e: PerformanceEntry): void {
    // The kind is in detail (Node 16+), which these typings leave off PerformanceEntry.
    const detail: unknown = (e as { detail?: unknown }).detail;
    const kindCode = typeof detail === "object" && detail !== null && "kind" in detail ? detail.kind : undefined;
    const totals = typeof kindCode === "number" ? this.byKind.get(KINDS.get(kindCode) ?? "") : undefined;
    if (!totals) return;
    totals.count++;
    totals.seconds += e.duration / 1000;
  }

  count(kind: string): number {
    return this.byKind.get(kind)?.count ?? 0;
  }

  render(): string {
    const lines = [
      "# HELP stowage_engine_gc_total Garbage collections in this node process, by kind.",
      "# TYPE stowage_engine_gc_total counter",
      ...[...this.byKind].map(([kind, t]) => `stowage_engine_gc_total{kind="${kind}"} ${t.count}`),
      "# HELP stowage_engine_gc_seconds_total Main-thread time garbage collections took in this node process, by kind.",
      "# TYPE stowage_engine_gc_seconds_total counter",
      ...[...this.byKind].map(([kind, t]) => `stowage_engine_gc_seconds_total{kind="${kind}"} ${t.seconds.toFixed(6)}`),
    ];
    return `${lines.join("\n")}\n`;
  }
}

/** The process's one counter: every node in a process shares its heap. */
export const processGc = new GcStats();
