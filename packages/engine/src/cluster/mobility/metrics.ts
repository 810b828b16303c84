/**
 * Prometheus metrics of mobility, rendered in the text exposition format on
 * the engine's admin endpoint (`GET /metrics`):
 *
 *   stowage_mobility_bytes_sent_total{peer,volume}  counter, bytes this node put on the link
 *   stowage_mobility_failures_total{peer,volume}    counter, runs this node saw fail
 *   stowage_mobility_lag_seconds{peer,volume}       gauge, age of the newest snapshot fully at the
 *                                                   destination (from the cluster's run records)
 */
import type { RunRecord } from "./records";

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export class MobilityMetrics {
  private readonly sent = new Map<string, number>();
  private readonly failures = new Map<string, number>();

  bytesSent(peer: string, volume: string, bytes: number): void {
    const k = `${peer}\u0000${volume}`;
    this.sent.set(k, (this.sent.get(k) ?? 0) + bytes);
  }

  failure(peer: string, volume: string): void {
    const k = `${peer}\u0000${volume}`;
    this.failures.set(k, (this.failures.get(k) ?? 0) + 1);
  }

  render(runs: readonly RunRecord[], now = Date.now()): string {
    const lines: string[] = [];
    const series = (m: Map<string, number>): string[] =>
      [...m].map(([k, v]) => {
        const [peer = "", volume = ""] = k.split("\u0000");
        return `{peer="${label(peer)}",volume="${label(volume)}"} ${v}`;
      });
    lines.push("# HELP stowage_mobility_bytes_sent_total Bytes this node sent to peer clusters.", "# TYPE stowage_mobility_bytes_sent_total counter");
    for (const s of series(this.sent)) lines.push(`stowage_mobility_bytes_sent_total${s}`);
    lines.push("# HELP stowage_mobility_failures_total Replication runs from this node that failed.", "# TYPE stowage_mobility_failures_total counter");
    for (const s of series(this.failures)) lines.push(`stowage_mobility_failures_total${s}`);
    lines.push("# HELP stowage_mobility_lag_seconds Age of the newest snapshot fully at the destination.", "# TYPE stowage_mobility_lag_seconds gauge");
    for (const r of runs) {
      if (!r.lastCompleted) continue;
      const lag = Math.max(0, (now - Date.parse(r.lastCompleted.createdAt)) / 1000);
      lines.push(`stowage_mobility_lag_seconds{peer="${label(r.peer)}",volume="${label(r.volume)}"} ${lag.toFixed(3)}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
