import type { ClusterStatus } from "@stowage/api/client";
import { Badge, type BadgeVariant } from "~/components/ui/badge";

const LOOK: Record<ClusterStatus, { label: string; variant: BadgeVariant; dot: string }> = {
  pending: { label: "Waiting for agent", variant: "warning", dot: "bg-warning" },
  connected: { label: "Connected", variant: "success", dot: "bg-success" },
  disconnected: { label: "Disconnected", variant: "destructive", dot: "bg-destructive" },
};

export function ClusterStatusBadge({ status }: { status: ClusterStatus }) {
  const look = LOOK[status];
  return (
    <Badge variant={look.variant}>
      <span className={`size-1.5 rounded-full ${look.dot}`} aria-hidden />
      {look.label}
    </Badge>
  );
}
