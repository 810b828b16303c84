"use client";

import { useQuery } from "@tanstack/react-query";
import { ServerIcon } from "lucide-react";
import { EmptyState } from "~/components/empty-state";
import { LIVE_REFRESH_MS } from "~/components/fleet/status";
import { Alert } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { Card, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatNumber, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";

/**
 * The Kubernetes nodes of the cluster's latest report: every one counts for billing in the hours
 * it is Ready, storage-less ones too, so the table says which run a Stowage engine. The billed
 * column shows only when the API filled it in (roles that may read billing).
 */
export function KubernetesNodesCard({ clusterId }: { clusterId: string }) {
  const trpc = useTRPC();
  const nodes = useQuery({ ...trpc.cluster.listKubernetesNodes.queryOptions({ clusterId }), refetchInterval: LIVE_REFRESH_MS });
  const items = nodes.data?.items ?? [];
  const showsBilled = items.some((n) => n.billedNodeHours !== null);
  return (
    <Card className="gap-0 pb-0">
      <CardHeader className="pb-4">
        <CardTitle id="kubernetes-nodes-heading">Kubernetes nodes</CardTitle>
        <CardDescription>
          Every node of the cluster as the agent last listed it. Each is billed by the node-hour while Ready, including nodes without Stowage storage.
        </CardDescription>
      </CardHeader>
      {nodes.error ? <Alert variant="destructive">{nodes.error.message}</Alert> : null}
      {!nodes.data ? (
        <p className="border-t px-6 py-6 text-sm text-muted-foreground">Loading Kubernetes nodes…</p>
      ) : items.length === 0 ? (
        <div className="border-t p-6">
          <EmptyState
            icon={ServerIcon}
            title="No Kubernetes nodes reported"
            description="An agent running in Kubernetes lists the cluster's nodes with its telemetry. This cluster's agent has listed none."
          />
        </div>
      ) : (
        <Table aria-labelledby="kubernetes-nodes-heading">
          <TableHeader>
            <TableRow>
              <TableHead>Name</TableHead>
              <TableHead>Class</TableHead>
              <TableHead>Ready</TableHead>
              <TableHead>Storage</TableHead>
              {showsBilled ? <TableHead className="text-right">Billed in {nodes.data.month}</TableHead> : null}
              <TableHead>Last seen</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.map((n) => (
              <TableRow key={n.name}>
                <TableCell className="font-medium">{n.name}</TableCell>
                <TableCell>{n.nodeClass === "" ? <span className="text-muted-foreground">none</span> : n.nodeClass}</TableCell>
                <TableCell>{n.ready ? <Badge variant="outline">Ready</Badge> : <Badge variant="destructive">Not ready</Badge>}</TableCell>
                <TableCell>{n.storageNodeId === null ? <span className="text-muted-foreground">storage-less</span> : <code className="font-mono text-xs">{n.storageNodeId}</code>}</TableCell>
                {showsBilled ? (
                  <TableCell className="text-right tabular-nums">{n.billedNodeHours === null ? "—" : `${formatNumber(n.billedNodeHours)} ${n.billedNodeHours === 1 ? "node-hour" : "node-hours"}`}</TableCell>
                ) : null}
                <TableCell className="text-muted-foreground">{formatRelative(n.lastSeenAt)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Card>
  );
}
