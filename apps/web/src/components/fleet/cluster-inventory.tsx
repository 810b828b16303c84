"use client";

import { isOneOf, VOLUME_STATES, type VolumeState } from "@stowage/api/client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { DatabaseIcon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";
import { CapacityBar } from "~/components/charts/capacity-bar";
import { EmptyState } from "~/components/empty-state";
import { ClusterKubernetes } from "./cluster-kubernetes";
import { Alert } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { CursorPager, useCursorPages } from "~/components/ui/cursor-pager";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Input } from "~/components/ui/input";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatBytes, formatDate, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { CommandProgress } from "./command-progress";
import { CreateVolumeDialog } from "./create-volume-dialog";
import { ClusterCharts } from "./io-charts";
import { useHasRole } from "./use-role";
import { LIVE_REFRESH_MS, NodeStatusBadge, VolumeStateBadge } from "./status";

const PAGE_SIZE = 20;
const ALL = "all";

/** Nodes, volumes, performance, the Kubernetes side and recent commands of a registered cluster. */
export function ClusterInventory({ clusterId, name }: { clusterId: string; name: string }) {
  return (
    <>
      <Card>
        <CardHeader>
          <CardTitle>Performance, last hour</CardTitle>
        </CardHeader>
        <CardContent>
          <ClusterCharts clusterId={clusterId} name={name} />
        </CardContent>
      </Card>
      <NodesCard clusterId={clusterId} />
      <VolumesCard clusterId={clusterId} />
      <ClusterKubernetes clusterId={clusterId} />
      <RecentCommands clusterId={clusterId} />
    </>
  );
}

function NodesCard({ clusterId }: { clusterId: string }) {
  const trpc = useTRPC();
  const nodes = useQuery({ ...trpc.node.list.queryOptions({ id: clusterId }), refetchInterval: LIVE_REFRESH_MS });
  const items = nodes.data?.items ?? [];
  return (
    <Card className="gap-0 pb-0">
      <CardHeader className="pb-4">
        <CardTitle>Nodes</CardTitle>
        <CardDescription>Storage nodes and their pools, as the agent last reported them.</CardDescription>
      </CardHeader>
      {nodes.error ? <Alert variant="destructive">{nodes.error.message}</Alert> : null}
      {nodes.data && items.length === 0 ? (
        <p className="border-t px-6 py-6 text-sm text-muted-foreground">The agent has not reported any nodes yet. Check that it runs on the storage nodes.</p>
      ) : (
        <Table aria-label="Nodes">
          <TableHeader>
            <TableRow>
              <TableHead>Node</TableHead>
              <TableHead>Zone</TableHead>
              <TableHead>Rack</TableHead>
              <TableHead>Health</TableHead>
              <TableHead>Pool usage</TableHead>
              <TableHead>Updated</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.map((n) => (
              <TableRow key={n.id}>
                <TableCell className="font-medium">{n.name}</TableCell>
                <TableCell>{n.zone ?? "—"}</TableCell>
                <TableCell>{n.rack ?? "—"}</TableCell>
                <TableCell>
                  <NodeStatusBadge status={n.status} pool={n.pool.health} />
                </TableCell>
                <TableCell>
                  <CapacityBar label={`Pool usage of ${n.name}`} used={n.pool.allocatedBytes} total={n.pool.capacityBytes} className="w-56" />
                </TableCell>
                <TableCell className="text-muted-foreground">{formatRelative(n.updatedAt)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Card>
  );
}

function VolumesCard({ clusterId }: { clusterId: string }) {
  const trpc = useTRPC();
  const canCreate = useHasRole("operator");
  const [state, setState] = useState<VolumeState | undefined>(undefined);
  const [search, setSearch] = useState("");
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const term = search.trim();
  const query = useQuery({
    ...trpc.volume.list.queryOptions({ clusterId, state, search: term === "" ? undefined : term, cursor, limit: PAGE_SIZE }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_REFRESH_MS,
  });
  const volumes = query.data?.items ?? [];
  const page = pages.page;
  const filtered = state !== undefined || term !== "";
  return (
    <Card className="gap-0 pb-0">
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-3 pb-4">
        <div className="grid gap-1">
          <CardTitle>Volumes</CardTitle>
          <CardDescription>Newest first. Open a volume for its replicas, snapshots and I/O.</CardDescription>
        </div>
        {canCreate ? <CreateVolumeDialog clusterId={clusterId} /> : null}
      </CardHeader>
      <form aria-label="Filter volumes" className="grid grid-cols-1 gap-3 px-6 pb-4 sm:grid-cols-2" onSubmit={(e) => e.preventDefault()}>
        <div className="grid gap-1.5">
          <Label htmlFor="volume-search">Search by name</Label>
          <Input
            id="volume-search"
            type="search"
            placeholder="Part of a name"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              pages.reset();
            }}
          />
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="volume-state">State</Label>
          <Select
            value={state ?? ALL}
            onValueChange={(v) => {
              setState(isOneOf(VOLUME_STATES, v) ? v : undefined);
              pages.reset();
            }}
          >
            <SelectTrigger id="volume-state">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All states</SelectItem>
              {VOLUME_STATES.map((s) => (
                <SelectItem key={s} value={s}>
                  {s.charAt(0).toUpperCase() + s.slice(1)}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      </form>
      {query.error ? <Alert variant="destructive">{query.error.message}</Alert> : null}
      {query.data && volumes.length === 0 ? (
        <div className="border-t p-6">
          <EmptyState
            icon={DatabaseIcon}
            title={filtered ? "No matching volumes" : "No volumes yet"}
            description={filtered ? "No volume matches these filters. Clear the search or pick another state." : "Create a volume here, or through a PersistentVolumeClaim with the Stowage storage class."}
          />
        </div>
      ) : (
        <Table aria-label="Volumes" aria-busy={query.isFetching}>
          <TableHeader>
            <TableRow>
              <TableHead>Name</TableHead>
              <TableHead>State</TableHead>
              <TableHead>Size</TableHead>
              <TableHead>Replicas</TableHead>
              <TableHead>Encryption</TableHead>
              <TableHead>Created</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {volumes.map((v) => (
              <TableRow key={v.id}>
                <TableCell className="font-medium">
                  <Link href={`/volumes/${v.id}`} className="rounded-sm hover:underline focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
                    {v.name}
                  </Link>
                </TableCell>
                <TableCell>
                  <VolumeStateBadge state={v.state} />
                </TableCell>
                <TableCell className="tabular-nums">{formatBytes(v.sizeBytes)}</TableCell>
                <TableCell className="tabular-nums">{v.replicaCount}</TableCell>
                <TableCell>{v.encrypted ? <Badge variant="outline">Encrypted</Badge> : <span className="text-muted-foreground">None</span>}</TableCell>
                <TableCell className="text-muted-foreground">{formatDate(v.createdAt)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      <CursorPager
        label="Volume pages"
        page={page}
        summary={`${PAGE_SIZE} per page`}
        nextCursor={query.data?.nextCursor}
        fetching={query.isFetching}
        showingPrevious={query.isPlaceholderData}
        onBack={pages.back}
        onForward={pages.forward}
        className="border-t px-6 py-3"
        backLabel="Previous"
        forwardLabel="Next"
      />
    </Card>
  );
}

function RecentCommands({ clusterId }: { clusterId: string }) {
  const trpc = useTRPC();
  const commands = useQuery({ ...trpc.command.list.queryOptions({ clusterId, limit: 5 }), refetchInterval: LIVE_REFRESH_MS });
  const items = commands.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Recent commands</CardTitle>
        <CardDescription>What this dashboard and the API asked the agent to do, newest first.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {items.map((c) => (
          <CommandProgress key={c.id} id={c.id} />
        ))}
      </CardContent>
    </Card>
  );
}
