import { formatPercent } from "~/lib/format";
import { cn } from "~/lib/utils";

/** Progress of a long-running operation (0..1), labelled for assistive technology. */
export function ProgressBar({ label, value, className }: { label: string; value: number; className?: string }) {
  const ratio = Math.min(1, Math.max(0, value));
  return (
    <div className={cn("flex items-center gap-2", className)}>
      <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(ratio * 100)} className="h-2 min-w-24 flex-1 overflow-hidden rounded-full bg-muted">
        <div className="h-full rounded-full bg-primary transition-[width]" style={{ width: `${ratio * 100}%` }} />
      </div>
      <span className="w-10 text-right text-xs text-muted-foreground tabular-nums">{formatPercent(ratio)}</span>
    </div>
  );
}
