import type { AlertKind, AlertSeverity, ClusterHealth, CommandState, NodeStatus, PoolHealth, ReplicaState, VolumeState } from "@stowage/api/client";
import { Badge, type BadgeVariant } from "~/components/ui/badge";

/** How often live pages refetch; charts and tables share it so they move together. */
export const LIVE_REFRESH_MS = 5_000;

/** Alerts per page; the alerts page prefetches with it, so its cache key must match the view's. */
export const ALERTS_PAGE_SIZE = 25;

type Look = { label: string; variant: BadgeVariant };

function StatusBadge({ look }: { look: Look }) {
  return <Badge variant={look.variant}>{look.label}</Badge>;
}

const HEALTH: Record<ClusterHealth, Look> = {
  healthy: { label: "Healthy", variant: "success" },
  warning: { label: "Warning", variant: "warning" },
  critical: { label: "Critical", variant: "destructive" },
  unknown: { label: "No data", variant: "secondary" },
};
export function HealthBadge({ health }: { health: ClusterHealth }) {
  return <StatusBadge look={HEALTH[health]} />;
}

const VOLUME: Record<VolumeState, Look> = {
  healthy: { label: "Healthy", variant: "success" },
  degraded: { label: "Degraded", variant: "warning" },
  faulted: { label: "Faulted", variant: "destructive" },
  creating: { label: "Creating", variant: "secondary" },
  deleting: { label: "Deleting", variant: "secondary" },
};
export function VolumeStateBadge({ state }: { state: VolumeState }) {
  return <StatusBadge look={VOLUME[state]} />;
}

const REPLICA: Record<ReplicaState, Look> = {
  healthy: { label: "Healthy", variant: "success" },
  resyncing: { label: "Resyncing", variant: "warning" },
  rebuilding: { label: "Rebuilding", variant: "warning" },
  offline: { label: "Offline", variant: "destructive" },
  faulted: { label: "Faulted", variant: "destructive" },
};
export function ReplicaStateBadge({ state }: { state: ReplicaState }) {
  return <StatusBadge look={REPLICA[state]} />;
}

const NODE: Record<NodeStatus, Look> = { up: { label: "Up", variant: "success" }, down: { label: "Down", variant: "destructive" } };
const POOL: Record<PoolHealth, Look> = {
  healthy: { label: "Pool healthy", variant: "success" },
  degraded: { label: "Pool degraded", variant: "warning" },
  failed: { label: "Pool failed", variant: "destructive" },
};
export function NodeStatusBadge({ status, pool }: { status: NodeStatus; pool: PoolHealth }) {
  return (
    <span className="flex flex-wrap gap-1">
      <StatusBadge look={NODE[status]} />
      {pool === "healthy" ? null : <StatusBadge look={POOL[pool]} />}
    </span>
  );
}

const SEVERITY: Record<AlertSeverity, Look> = { warning: { label: "Warning", variant: "warning" }, critical: { label: "Critical", variant: "destructive" } };
export function SeverityBadge({ severity }: { severity: AlertSeverity }) {
  return <StatusBadge look={SEVERITY[severity]} />;
}

const COMMAND: Record<CommandState, Look> = {
  queued: { label: "Queued", variant: "secondary" },
  delivered: { label: "Delivered to agent", variant: "secondary" },
  running: { label: "Running", variant: "warning" },
  succeeded: { label: "Succeeded", variant: "success" },
  failed: { label: "Failed", variant: "destructive" },
  expired: { label: "Expired", variant: "destructive" },
};
export function CommandStateBadge({ state }: { state: CommandState }) {
  return <StatusBadge look={COMMAND[state]} />;
}

export const ALERT_KIND_LABELS: Record<AlertKind, string> = {
  cluster_silent: "Cluster silent",
  node_down: "Node down",
  replica_degraded: "Replica degraded",
  pool_full: "Pool full",
  volume_io_errors: "Volume I/O errors",
  budget_actual: "Budget reached",
  budget_forecast: "Budget forecast",
};
