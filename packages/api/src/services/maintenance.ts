import type { ResolvedConfig } from "../config";
import { inTransaction, type Pool } from "../db";
import type { Logger } from "../lib/logger";
import { alertRepository, alertWriter } from "../repositories/alert";
import { PARTITIONED_TABLES, partitionRepository, type PartitionedTable } from "../repositories/partitions";
import { rollupRepository } from "../repositories/rollup";
import type { PrismaClient } from "../db";
import type { BillingService } from "../billing/service";
import type { CommandService } from "./command";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A minute is rolled up this long after it ends: agents report every 10 s and deliver within seconds. */
const ROLLUP_LAG_MS = 2 * MINUTE;
/** At most this much raw time per statement, so one run never holds a huge transaction. */
const MINUTE_CHUNK_MS = HOUR;
const HOUR_CHUNK_MS = DAY;

// Arbitrary constant: one instance runs the maintenance pass at a time.
const MAINTENANCE_LOCK = 7_341_020_513;

function floorTo(t: number, unit: number): number {
  return Math.floor(t / unit) * unit;
}

export interface MaintenanceReport {
  partitionsCreated: string[];
  partitionsDropped: string[];
  minutesRolledUpTo: string | null;
  hoursRolledUpTo: string | null;
  backfills: number;
  commandsExpired: number;
  commandsFailed: number;
  silenceOpened: number;
  invoicesFinalized: number;
  budgetAlertsRaised: number;
}

/**
 * The periodic jobs of telemetry and commands: partitions ahead of time,
 * rollups, retention, command expiry and cluster silence. Every step is
 * idempotent, so a pass that crashed halfway is simply run again.
 */
export class MaintenanceService {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly commands: CommandService,
    private readonly config: ResolvedConfig,
    private readonly log: Logger,
    private readonly billing: BillingService | null = null,
  ) {}

  private retentionDays(table: PartitionedTable): number {
    const t = this.config.telemetry;
    switch (table) {
      case "telemetry_batch":
        // Dedupe must outlive the window in which a batch's samples are still accepted.
        return t.rawRetentionDays + 1;
      case "volume_sample":
      case "pool_sample":
        return t.rawRetentionDays;
      case "volume_sample_1m":
      case "cluster_metric_1m":
        return t.rollup1mRetentionDays;
      case "volume_sample_1h":
      case "cluster_metric_1h":
        return t.rollup1hRetentionDays;
    }
  }

  /** Creates partitions from the oldest retained day to `partitionsAheadDays` ahead. */
  async ensurePartitions(): Promise<string[]> {
    const now = this.config.now().getTime();
    const parts = partitionRepository(this.pool);
    const created: string[] = [];
    for (const table of Object.keys(PARTITIONED_TABLES) as PartitionedTable[]) {
      // Only the recent past: older partitions are not written any more (late
      // samples are refused beyond raw retention; rollups run within hours).
      const from = new Date(now - Math.min(this.retentionDays(table), this.config.telemetry.rawRetentionDays + 1) * DAY);
      created.push(...(await parts.ensure(table, from, new Date(now + this.config.telemetry.partitionsAheadDays * DAY))));
    }
    return created;
  }

  async dropExpiredPartitions(): Promise<string[]> {
    const now = this.config.now().getTime();
    const parts = partitionRepository(this.pool);
    const dropped: string[] = [];
    for (const table of Object.keys(PARTITIONED_TABLES) as PartitionedTable[]) {
      dropped.push(...(await parts.dropBefore(table, new Date(now - this.retentionDays(table) * DAY))));
    }
    return dropped;
  }

  /** Rolls complete minutes up to (now - lag), then complete hours, then late ranges. */
  async rollup(): Promise<{ minutesTo: Date | null; hoursTo: Date | null; backfills: number }> {
    await this.ensurePartitions();
    const now = this.config.now().getTime();
    const repo = rollupRepository(this.pool);
    const target = floorTo(now - ROLLUP_LAG_MS, MINUTE);
    const start1m = (await repo.watermark("1m"))?.getTime() ?? floorTo(now - this.config.telemetry.rawRetentionDays * DAY, MINUTE);
    let wm = start1m;
    while (wm < target) {
      const to = Math.min(target, wm + MINUTE_CHUNK_MS);
      await inTransaction(this.pool, async (c) => {
        await rollupRepository(c).rollupMinutes(new Date(wm), new Date(to), null);
        await rollupRepository(c).setWatermark("1m", new Date(to));
      });
      wm = to;
    }
    const minutesTo = wm > start1m || (await repo.watermark("1m")) ? new Date(wm) : null;
    const targetH = floorTo(wm, HOUR);
    const startH = (await repo.watermark("1h"))?.getTime() ?? floorTo(start1m, HOUR);
    let wh = startH;
    while (wh < targetH) {
      const to = Math.min(targetH, wh + HOUR_CHUNK_MS);
      await inTransaction(this.pool, async (c) => {
        await rollupRepository(c).rollupHours(new Date(wh), new Date(to), null);
        await rollupRepository(c).setWatermark("1h", new Date(to));
      });
      wh = to;
    }
    const backfills = await this.backfill(new Date(wh));
    return { minutesTo, hoursTo: wh > startH || (await repo.watermark("1h")) ? new Date(wh) : null, backfills };
  }

  /** Recomputes the buckets that late samples fell into, per cluster. */
  private async backfill(hoursWatermark: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await inTransaction(this.pool, async (c) => {
        const repo = rollupRepository(c);
        const ranges = await repo.takeBackfills(100);
        for (const r of ranges) {
          const from = floorTo(r.fromAt.getTime(), MINUTE);
          const to = floorTo(r.toAt.getTime() - 1, MINUTE) + MINUTE;
          await repo.rollupMinutes(new Date(from), new Date(to), r.clusterId);
          if (from < hoursWatermark.getTime()) {
            await repo.rollupHours(new Date(floorTo(from, HOUR)), new Date(floorTo(to - 1, HOUR) + HOUR), r.clusterId);
          }
        }
        return ranges.length;
      });
      total += n;
      if (n < 100) return total;
    }
  }

  /** Opens cluster_silent for registered clusters heard from neither by heartbeat nor telemetry. */
  async checkSilence(): Promise<number> {
    const now = this.config.now();
    const silent = await alertWriter(this.pool).silentClusters(new Date(now.getTime() - this.config.silenceSeconds * 1000));
    let opened = 0;
    const alerts = alertRepository(this.prisma);
    for (const c of silent) {
      const since = c.lastSeenAt ? `since ${c.lastSeenAt.toISOString()}` : "since registration";
      const ok = await alerts.open(c.organizationId, c.clusterId, { kind: "cluster_silent", subject: "cluster", severity: "critical", message: `Cluster ${c.name} has sent neither heartbeat nor telemetry ${since}` }, now);
      if (ok) opened++;
    }
    return opened;
  }

  /** One full pass; concurrent passes (other instances) skip instead of queueing. */
  async runOnce(): Promise<MaintenanceReport | null> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [MAINTENANCE_LOCK]);
      if (!rows[0]?.locked) return null;
      try {
        const partitionsCreated = await this.ensurePartitions();
        const r = await this.rollup();
        const partitionsDropped = await this.dropExpiredPartitions();
        const swept = await this.commands.sweep();
        const silenceOpened = await this.checkSilence();
        // Month close and budgets run on these ticks, not on ingest: a month closes even when no
        // telemetry arrives, and ingest stays as cheap as it was.
        const now = this.config.now();
        const invoicesFinalized = this.billing ? (await this.billing.closeDueMonths(now)).length : 0;
        const budgetAlertsRaised = this.billing ? await this.billing.evaluateBudgets(now) : 0;
        return {
          partitionsCreated,
          partitionsDropped,
          minutesRolledUpTo: r.minutesTo?.toISOString() ?? null,
          hoursRolledUpTo: r.hoursTo?.toISOString() ?? null,
          backfills: r.backfills,
          commandsExpired: swept.expired,
          commandsFailed: swept.failed,
          silenceOpened,
          invoicesFinalized,
          budgetAlertsRaised,
        };
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MAINTENANCE_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  /** Runs a pass now and every `intervalMs` (default 30 s) until stop(). */
  start(intervalMs = 30_000): void {
    if (this.timer) return;
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .then((report) => {
          if (report && (report.partitionsCreated.length || report.partitionsDropped.length || report.silenceOpened || report.commandsExpired || report.commandsFailed || report.invoicesFinalized || report.budgetAlertsRaised)) {
            this.log.info(report, "maintenance pass");
          }
        })
        .catch((err: unknown) => this.log.error({ err }, "maintenance pass failed"))
        .finally(() => {
          this.running = null;
        });
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

export { HOUR, MINUTE, DAY };
