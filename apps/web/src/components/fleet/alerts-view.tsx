"use client";

import { ALERT_KINDS, ALERT_STATES, isOneOf, type AlertKind, type AlertState } from "@stowage/api/client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { BellIcon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Alert } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { CursorPager, useCursorPages } from "~/components/ui/cursor-pager";
import { Card } from "~/components/ui/card";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Skeleton } from "~/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatDateTime, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { ALERT_KIND_LABELS, ALERTS_PAGE_SIZE, LIVE_REFRESH_MS, SeverityBadge } from "./status";

const ALL = "all";

export interface AlertFilters {
  state?: AlertState | undefined;
  clusterId?: string | undefined;
  kind?: AlertKind | undefined;
}

export function AlertsView({ initial }: { initial: AlertFilters }) {
  const trpc = useTRPC();
  const [filters, setFilters] = useState<AlertFilters>(initial);
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const query = useQuery({ ...trpc.alert.list.queryOptions({ ...filters, cursor, limit: ALERTS_PAGE_SIZE }), placeholderData: keepPreviousData, refetchInterval: LIVE_REFRESH_MS });
  const clusters = useQuery(trpc.cluster.list.queryOptions({ limit: 100 }));
  const clusterName = new Map((clusters.data?.items ?? []).map((c) => [c.id, c.name]));
  const alerts = query.data?.items ?? [];
  const page = pages.page;

  function update(next: AlertFilters) {
    setFilters(next);
    pages.reset();
  }

  const filtered = filters.state !== undefined || filters.clusterId !== undefined || filters.kind !== undefined;
  return (
    <div className="grid grid-cols-1 gap-6">
      <PageHeader title="Alerts" description="Raised and resolved by the control plane: from what the agents report (silent clusters, nodes down, degraded replicas, full pools, I/O errors) and from billing, when spend reaches or is forecast to reach a budget's threshold." />
      <form aria-label="Filter alerts" className="grid grid-cols-1 gap-3 sm:grid-cols-3" onSubmit={(e) => e.preventDefault()}>
        <div className="grid gap-1.5">
          <Label htmlFor="alert-state">State</Label>
          <Select value={filters.state ?? ALL} onValueChange={(v) => update({ ...filters, state: isOneOf(ALERT_STATES, v) ? v : undefined })}>
            <SelectTrigger id="alert-state">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>Open and resolved</SelectItem>
              <SelectItem value="open">Open</SelectItem>
              <SelectItem value="resolved">Resolved</SelectItem>
            </SelectContent>
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="alert-cluster">Cluster</Label>
          <Select value={filters.clusterId ?? ALL} onValueChange={(v) => update({ ...filters, clusterId: v === ALL ? undefined : v })}>
            <SelectTrigger id="alert-cluster">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All clusters</SelectItem>
              {(clusters.data?.items ?? []).map((c) => (
                <SelectItem key={c.id} value={c.id}>
                  {c.name}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="alert-kind">Kind</Label>
          <Select value={filters.kind ?? ALL} onValueChange={(v) => update({ ...filters, kind: isOneOf(ALERT_KINDS, v) ? v : undefined })}>
            <SelectTrigger id="alert-kind">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All kinds</SelectItem>
              {ALERT_KINDS.map((k) => (
                <SelectItem key={k} value={k}>
                  {ALERT_KIND_LABELS[k]}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      </form>
      {query.error ? <Alert variant="destructive">{query.error.message}</Alert> : null}
      {query.isPending ? (
        <div className="grid gap-2" aria-busy="true" aria-label="Loading alerts">
          {Array.from({ length: 5 }, (_, i) => (
            <Skeleton key={i} className="h-10 w-full" />
          ))}
        </div>
      ) : alerts.length === 0 ? (
        <EmptyState
          icon={BellIcon}
          title={filtered ? "No matching alerts" : "No alerts"}
          description={filtered ? "Nothing matches these filters. Widen them to see more." : "Nothing has gone wrong in the clusters reporting here. Alerts appear when a cluster goes silent, a node goes down or a replica degrades."}
        />
      ) : (
        <Card className="py-0" aria-busy={query.isFetching}>
          <Table aria-label="Alerts">
            <TableHeader>
              <TableRow>
                <TableHead>Severity</TableHead>
                <TableHead>Kind</TableHead>
                <TableHead>Scope</TableHead>
                <TableHead>Message</TableHead>
                <TableHead>Opened</TableHead>
                <TableHead>Resolved</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {alerts.map((a) => (
                <TableRow key={a.id}>
                  <TableCell>
                    <SeverityBadge severity={a.severity} />
                  </TableCell>
                  <TableCell>{ALERT_KIND_LABELS[a.kind]}</TableCell>
                  <TableCell>
                    {a.clusterId === null ? (
                      // Organization-level (a budget's): it spans every cluster, so it points at the budgets.
                      <Link href="/billing/budgets" className="hover:underline">
                        Organization
                      </Link>
                    ) : (
                      <Link href={`/clusters/${a.clusterId}`} className="hover:underline">
                        {clusterName.get(a.clusterId) ?? "Cluster"}
                      </Link>
                    )}
                  </TableCell>
                  <TableCell className="max-w-96 whitespace-normal">{a.message}</TableCell>
                  <TableCell className="text-muted-foreground">
                    <time dateTime={a.openedAt} title={formatDateTime(a.openedAt)}>
                      {formatRelative(a.openedAt)}
                    </time>
                  </TableCell>
                  <TableCell>
                    {a.resolvedAt ? (
                      <time dateTime={a.resolvedAt} className="text-muted-foreground" title={formatDateTime(a.resolvedAt)}>
                        {formatRelative(a.resolvedAt)}
                      </time>
                    ) : (
                      <Badge variant="outline">Open</Badge>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
      <CursorPager
        label="Alert pages"
        page={page}
        summary={`${ALERTS_PAGE_SIZE} per page, newest first`}
        nextCursor={query.data?.nextCursor}
        fetching={query.isFetching}
        showingPrevious={query.isPlaceholderData}
        onBack={pages.back}
        onForward={pages.forward}
        backLabel="Newer"
        forwardLabel="Older"
      />
    </div>
  );
}
