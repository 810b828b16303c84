import { Badge, type BadgeVariant } from "~/components/ui/badge";

/** How often live pages refetch; charts and tables share it so they move together. */
export const LIVE_REFRESH_MS = 5_000;

/** Alerts per page; the alerts page prefetches with it, so its cache key must match the view's. */
export const ALERTS_PAGE_SIZE = 25;

type Look = { label: string; variant: BadgeVariant };

function StatusBadge({ look }: { look: Look }) {
  return <Badge variant={look.variant}>{look.label}</Badge>;
}

const HEALTH: Record<"healthy" | "warning" | "critical" | "unknown", Look> = {
  healthy: { label: "Healthy", variant: "success" },
  warning: { label: "Warning", variant: "warning" },
  critical: { label: "Critical", variant: "destructive" },
  unknown: { label: "No data", variant: "secondary" },
};
export function HealthBadge({ health }: { health: keyof typeof HEALTH }) {
  return <StatusBadge look={HEALTH[health]} />;
}

export const VOLUME_STATES = ["healthy", "degraded", "faulted", "creating", "deleting"] as const;
export type VolumeState = (typeof VOLUME_STATES)[number];
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
export function isVolumeState(value: string): value is VolumeState {
  return (VOLUME_STATES as readonly string[]).includes(value);
}

const REPLICA: Record<"healthy" | "resyncing" | "rebuilding" | "offline" | "faulted", Look> = {
  healthy: { label: "Healthy", variant: "success" },
  resyncing: { label: "Resyncing", variant: "warning" },
  rebuilding: { label: "Rebuilding", variant: "warning" },
  offline: { label: "Offline", variant: "destructive" },
  faulted: { label: "Faulted", variant: "destructive" },
};
export function ReplicaStateBadge({ state }: { state: keyof typeof REPLICA }) {
  return <StatusBadge look={REPLICA[state]} />;
}

const NODE: Record<"up" | "down", Look> = { up: { label: "Up", variant: "success" }, down: { label: "Down", variant: "destructive" } };
const POOL: Record<"healthy" | "degraded" | "failed", Look> = {
  healthy: { label: "Pool healthy", variant: "success" },
  degraded: { label: "Pool degraded", variant: "warning" },
  failed: { label: "Pool failed", variant: "destructive" },
};
export function NodeStatusBadge({ status, pool }: { status: keyof typeof NODE; pool: keyof typeof POOL }) {
  return (
    <span className="flex flex-wrap gap-1">
      <StatusBadge look={NODE[status]} />
      {pool === "healthy" ? null : <StatusBadge look={POOL[pool]} />}
    </span>
  );
}

const SEVERITY: Record<"warning" | "critical", Look> = { warning: { label: "Warning", variant: "warning" }, critical: { label: "Critical", variant: "destructive" } };
export function SeverityBadge({ severity }: { severity: keyof typeof SEVERITY }) {
  return <StatusBadge look={SEVERITY[severity]} />;
}

const COMMAND: Record<"queued" | "delivered" | "running" | "succeeded" | "failed" | "expired", Look> = {
  queued: { label: "Queued", variant: "secondary" },
  delivered: { label: "Delivered to agent", variant: "secondary" },
  running: { label: "Running", variant: "warning" },
  succeeded: { label: "Succeeded", variant: "success" },
  failed: { label: "Failed", variant: "destructive" },
  expired: { label: "Expired", variant: "destructive" },
};
export type CommandState = keyof typeof COMMAND;
export function CommandStateBadge({ state }: { state: CommandState }) {
  return <StatusBadge look={COMMAND[state]} />;
}
export function isTerminal(state: CommandState): boolean {
  return state === "succeeded" || state === "failed" || state === "expired";
}

export const ALERT_KINDS = ["cluster_silent", "node_down", "replica_degraded", "pool_full", "volume_io_errors"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const ALERT_KIND_LABELS: Record<AlertKind, string> = {
  cluster_silent: "Cluster silent",
  node_down: "Node down",
  replica_degraded: "Replica degraded",
  pool_full: "Pool full",
  volume_io_errors: "Volume I/O errors",
};
export function isAlertKind(value: string): value is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(value);
}
