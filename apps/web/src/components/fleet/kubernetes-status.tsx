import type { RouterOutputs } from "@stowage/api/client";
import { Badge, type BadgeVariant } from "~/components/ui/badge";
import { formatBytes } from "~/lib/format";

export type KubernetesClaim = RouterOutputs["cluster"]["listClaims"]["items"][number];
export type KubernetesVolumeClaim = NonNullable<RouterOutputs["volume"]["get"]["claim"]>;
export type KubernetesPod = KubernetesVolumeClaim["pods"][number];

type Look = { label: string; variant: BadgeVariant };

const CLAIM_PHASE: Record<KubernetesVolumeClaim["phase"], Look> = {
  Bound: { label: "Bound", variant: "success" },
  Pending: { label: "Pending", variant: "warning" },
  Lost: { label: "Lost", variant: "destructive" },
};

export function ClaimPhaseBadge({ phase }: { phase: KubernetesVolumeClaim["phase"] }) {
  const look = CLAIM_PHASE[phase];
  return <Badge variant={look.variant}>{look.label}</Badge>;
}

/** A pod is "Ready" only when running with its Ready condition true; otherwise its phase says why not. */
export function PodReadinessBadge({ pod }: { pod: KubernetesPod }) {
  if (pod.ready) return <Badge variant="success">Ready</Badge>;
  const variant: BadgeVariant = pod.phase === "Failed" || pod.phase === "Unknown" ? "destructive" : pod.phase === "Succeeded" ? "secondary" : "warning";
  return <Badge variant={variant}>{pod.phase === "Running" ? "Not ready" : pod.phase}</Badge>;
}

/** Capacity once bound, else what the claim asks for. */
export function claimSize(claim: Pick<KubernetesVolumeClaim, "capacityBytes" | "requestedBytes">): string {
  return claim.capacityBytes === null ? `${formatBytes(claim.requestedBytes)} requested` : formatBytes(claim.capacityBytes);
}

/** "StatefulSet orders-db, Deployment api" */
export function formatOwners(owners: KubernetesVolumeClaim["owners"]): string {
  return owners.length === 0 ? "—" : owners.map((o) => `${o.kind} ${o.name}`).join(", ");
}

/** The pods of a claim, one per line: name, the node it runs on, and whether it is ready. */
export function PodList({ pods, claimName }: { pods: KubernetesPod[]; claimName: string }) {
  if (pods.length === 0) return <span className="text-muted-foreground">No pods</span>;
  return (
    <ul aria-label={`Pods using ${claimName}`} className="grid gap-1">
      {pods.map((p) => (
        <li key={p.name} className="flex flex-wrap items-center gap-x-2 gap-y-1">
          <span className="font-medium">{p.name}</span>
          <span className="text-muted-foreground">{p.node === null ? "not scheduled" : `on ${p.node}`}</span>
          <PodReadinessBadge pod={p} />
        </li>
      ))}
    </ul>
  );
}
