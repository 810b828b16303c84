import type { RouterOutputs } from "@stowage/api/client";
import { Badge, type BadgeVariant } from "~/components/ui/badge";

type InvoiceStatus = RouterOutputs["billing"]["invoice"]["status"];

const STATUS: Record<InvoiceStatus, { label: string; variant: BadgeVariant }> = {
  draft: { label: "Draft (live)", variant: "secondary" },
  finalized: { label: "Finalized", variant: "default" },
  paid: { label: "Paid", variant: "success" },
  void: { label: "Void", variant: "destructive" },
};

export function InvoiceStatusBadge({ status }: { status: InvoiceStatus }) {
  const s = STATUS[status];
  return <Badge variant={s.variant}>{s.label}</Badge>;
}
