"use client";

import { useSuspenseQuery } from "@tanstack/react-query";
import { ServerIcon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";
import { CapacityBar } from "~/components/charts/capacity-bar";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatBytesPerSec, formatIops, formatLatencyUs, formatNumber, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { ClusterCharts } from "./io-charts";
import { HealthBadge, LIVE_REFRESH_MS } from "./status";

function Stat({ label, value, children }: { label: string; value: string; children?: React.ReactNode }) {
  return (
    <Card className="gap-2 py-4">
      <CardContent className="grid gap-1 px-4">
        <p className="text-xs font-medium text-muted-foreground">{label}</p>
        <p className="text-2xl font-semibold tabular-nums">{value}</p>
        {children}
      </CardContent>
    </Card>
  );
}

export function FleetOverview() {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery({ ...trpc.fleet.overview.queryOptions(), refetchInterval: LIVE_REFRESH_MS });
  const { clusters, totals } = data;
  const reporting = clusters.filter((c) => c.lastSeenAt !== null);
  const [picked, setPicked] = useState<string | null>(null);
  const chartCluster = clusters.find((c) => c.id === picked) ?? reporting[0] ?? null;

  return (
    <div className="grid grid-cols-1 gap-6">
      <PageHeader
        title="Fleet overview"
        description="Health, capacity and I/O of every cluster, refreshed every few seconds."
        actions={
          <Button variant="outline" asChild>
            <Link href="/clusters">All clusters</Link>
          </Button>
        }
      />
      {clusters.length === 0 || reporting.length === 0 ? (
        <EmptyState
          icon={ServerIcon}
          title="No clusters reporting yet"
          description={
            clusters.length === 0
              ? "Add a cluster and install the agent with its join command; its nodes, volumes and metrics show up here."
              : "Install the agent in one of your clusters with its join command; its nodes, volumes and metrics show up here once it reports."
          }
          action={
            <Button asChild>
              <Link href="/clusters">{clusters.length === 0 ? "Add a cluster" : "Go to clusters"}</Link>
            </Button>
          }
        />
      ) : null}
      {clusters.length > 0 ? (
        <>
          <section aria-label="Fleet totals" className="grid grid-cols-2 gap-4 lg:grid-cols-4">
            <Stat label="Clusters" value={formatNumber(totals.clusters)}>
              <p className="text-xs text-muted-foreground">
                {totals.byHealth.healthy} healthy · {totals.byHealth.warning} warning · {totals.byHealth.critical} critical
                {totals.byHealth.unknown > 0 ? ` · ${totals.byHealth.unknown} not reporting` : ""}
              </p>
            </Stat>
            <Stat label="Nodes · volumes" value={`${formatNumber(totals.nodeCount)} · ${formatNumber(totals.volumeCount)}`} />
            <Stat label="IOPS now" value={formatIops(totals.readIops + totals.writeIops)}>
              <p className="text-xs text-muted-foreground">{formatBytesPerSec(totals.readBytesPerSec + totals.writeBytesPerSec)}</p>
            </Stat>
            <Stat label="Open alerts" value={formatNumber(totals.openAlerts)}>
              <Link href="/alerts" className="text-xs text-muted-foreground hover:underline">
                View alerts
              </Link>
            </Stat>
          </section>
          <Card>
            <CardHeader>
              <CardTitle>Capacity</CardTitle>
            </CardHeader>
            <CardContent>
              <CapacityBar label="Fleet capacity used" used={totals.allocatedBytes} total={totals.capacityBytes} />
            </CardContent>
          </Card>
          <Card className="py-0">
            <Table aria-label="Cluster health">
              <TableHeader>
                <TableRow>
                  <TableHead>Cluster</TableHead>
                  <TableHead>Health</TableHead>
                  <TableHead>Nodes up</TableHead>
                  <TableHead>Volumes</TableHead>
                  <TableHead>Capacity</TableHead>
                  <TableHead>IOPS</TableHead>
                  <TableHead>p99 latency</TableHead>
                  <TableHead>Open alerts</TableHead>
                  <TableHead>Last report</TableHead>
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
                      <HealthBadge health={c.health} />
                    </TableCell>
                    <TableCell className="tabular-nums">
                      {c.nodesUp} / {c.nodeCount}
                    </TableCell>
                    <TableCell className="tabular-nums">{formatNumber(c.volumeCount)}</TableCell>
                    <TableCell>
                      <CapacityBar label={`Capacity used in ${c.name}`} used={c.allocatedBytes} total={c.capacityBytes} className="w-40" />
                    </TableCell>
                    <TableCell className="tabular-nums">{c.current.at ? formatIops(c.current.readIops + c.current.writeIops) : "—"}</TableCell>
                    <TableCell className="tabular-nums">{c.current.at ? formatLatencyUs(c.current.latencyP99Us) : "—"}</TableCell>
                    <TableCell className="tabular-nums">
                      {c.openAlerts.critical + c.openAlerts.warning > 0 ? (
                        <Link href={`/alerts?cluster=${c.id}&state=open`} className="hover:underline">
                          {[c.openAlerts.critical > 0 ? `${c.openAlerts.critical} critical` : null, c.openAlerts.warning > 0 ? `${c.openAlerts.warning} warning` : null].filter(Boolean).join(" · ")}
                        </Link>
                      ) : (
                        "None"
                      )}
                    </TableCell>
                    <TableCell className="text-muted-foreground">{formatRelative(c.lastSeenAt)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </Card>
          {chartCluster ? (
            <Card>
              <CardHeader className="flex-row flex-wrap items-end justify-between gap-3">
                <div className="grid gap-1">
                  <CardTitle>Performance, last hour</CardTitle>
                  <CardDescription>Read and write I/O of one cluster, at the interval its agent reports.</CardDescription>
                </div>
                <div className="grid gap-1.5">
                  <Label htmlFor="chart-cluster">Cluster</Label>
                  <Select value={chartCluster.id} onValueChange={setPicked}>
                    <SelectTrigger id="chart-cluster" className="w-56">
                      <SelectValue />
                    </SelectTrigger>
                    <SelectContent>
                      {clusters.map((c) => (
                        <SelectItem key={c.id} value={c.id}>
                          {c.name}
                        </SelectItem>
                      ))}
                    </SelectContent>
                  </Select>
                </div>
              </CardHeader>
              <CardContent>
                <ClusterCharts clusterId={chartCluster.id} name={chartCluster.name} />
              </CardContent>
            </Card>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
