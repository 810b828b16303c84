import type { RouterOutputs } from "@stowage/api/client";

type Line = RouterOutputs["billing"]["invoice"]["lines"][number];

/**
 * Where "explain this line" leads: the month the line's usage happened in (an adjustment's own
 * month), its cluster, unit and node class. Null for lines with no usage behind them (commitments).
 */
export function explainHref(line: Line, invoiceMonth: string): string | null {
  if (line.kind === "minimum_commitment" || line.clusterId === null || line.unit === null) return null;
  const params = new URLSearchParams({ month: line.adjustsMonth ?? invoiceMonth, cluster: line.clusterId, unit: line.unit });
  // null: the default node-hour tiers; a class name (even "") selects the class's own line.
  if (line.nodeClass !== null) params.set("class", line.nodeClass);
  return `/billing/explain?${params.toString()}`;
}
