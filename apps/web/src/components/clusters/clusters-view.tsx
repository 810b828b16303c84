"use client";

import { useSuspenseQuery } from "@tanstack/react-query";
import { ServerIcon } from "lucide-react";
import { useState } from "react";
import Link from "next/link";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Card } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatDate, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { AddClusterButton, AddClusterDialog } from "./add-cluster-dialog";
import { ClusterStatusBadge } from "./cluster-status";

export function ClustersView() {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.cluster.list.queryOptions({}));
  const clusters = data.items;
  const [adding, setAdding] = useState(false);
  return (
    <div className="grid grid-cols-1 gap-6">
      <AddClusterDialog open={adding} onOpenChange={setAdding} />
      <PageHeader
        title="Clusters"
        description="Kubernetes clusters running the Stowage agent."
        actions={clusters.length > 0 ? <AddClusterButton onClick={() => setAdding(true)} /> : null}
      />
      {clusters.length === 0 ? (
        <EmptyState
          icon={ServerIcon}
          title="No clusters yet"
          description="Add a cluster to get a one-time join command. Run it against the cluster and its agent connects here."
          action={<AddClusterButton onClick={() => setAdding(true)} />}
        />
      ) : (
        <Card className="py-0">
          <Table aria-label="Clusters">
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>Kubernetes</TableHead>
                <TableHead>Agent</TableHead>
                <TableHead>Last heartbeat</TableHead>
                <TableHead>Added</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {clusters.map((c) => (
                <TableRow key={c.id}>
                  <TableCell className="font-medium">
                    <Link href={`/clusters/${c.id}`} className="rounded-sm hover:underline focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
                      {c.name}
                    </Link>
                  </TableCell>
                  <TableCell>
                    <ClusterStatusBadge status={c.status} />
                  </TableCell>
                  <TableCell className="text-muted-foreground">{c.kubernetesVersion ?? "—"}</TableCell>
                  <TableCell className="text-muted-foreground">{c.agentVersion ?? "—"}</TableCell>
                  <TableCell className="text-muted-foreground">{formatRelative(c.lastHeartbeatAt)}</TableCell>
                  <TableCell className="text-muted-foreground">{formatDate(c.createdAt)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
    </div>
  );
}
