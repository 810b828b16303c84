import { formatBytes, formatPercent } from "~/lib/format";
import { cn } from "~/lib/utils";

/** Used of total as a meter: amber from 75 %, red from 90 %. */
export function CapacityBar({ label, used, total, className }: { label: string; used: number; total: number; className?: string }) {
  const ratio = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  const text = total > 0 ? `${formatBytes(used)} of ${formatBytes(total)} (${formatPercent(ratio)})` : "No capacity reported";
  const tone = ratio >= 0.9 ? "bg-destructive" : ratio >= 0.75 ? "bg-warning" : "bg-primary";
  return (
    <div className={cn("grid min-w-32 gap-1", className)}>
      <div role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(ratio * 100)} aria-valuetext={text} className="h-2 overflow-hidden rounded-full bg-muted">
        <div className={cn("h-full rounded-full transition-[width]", tone)} style={{ width: `${ratio * 100}%` }} />
      </div>
      <p className="text-xs text-muted-foreground tabular-nums">{text}</p>
    </div>
  );
}
