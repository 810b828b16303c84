"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { BoxesIcon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";
import { EmptyState } from "~/components/empty-state";
import { LIVE_REFRESH_MS } from "./status";
import { Alert } from "~/components/ui/alert";
import { Badge } from "~/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { CursorPager, useCursorPages } from "~/components/ui/cursor-pager";
import { Label } from "~/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatDate, formatNumber, formatRelative } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { ClaimPhaseBadge, claimSize, PodList } from "./kubernetes-status";

const PAGE_SIZE = 20;
const ALL = "all";

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

/** The Kubernetes side of a cluster: version, storage classes, namespaces and the PersistentVolumeClaims with their volumes and pods. */
export function ClusterKubernetes({ clusterId }: { clusterId: string }) {
  const trpc = useTRPC();
  const namespaces = useQuery({ ...trpc.cluster.listNamespaces.queryOptions({ clusterId }), refetchInterval: LIVE_REFRESH_MS });
  const classes = useQuery({ ...trpc.cluster.listStorageClasses.queryOptions({ clusterId }), refetchInterval: LIVE_REFRESH_MS });
  const data = namespaces.data;
  const reported = data?.observedAt != null;
  return (
    <section aria-labelledby="kubernetes-heading" className="grid grid-cols-1 gap-6">
      <Card className="gap-0 pb-0">
        <CardHeader className="pb-4">
          <CardTitle id="kubernetes-heading">Kubernetes</CardTitle>
          <CardDescription>
            {reported ? `Namespaces, storage classes and claims as the agent saw them ${formatRelative(data.observedAt)}.` : "Namespaces, storage classes and claims, as the agent reports them."}
          </CardDescription>
        </CardHeader>
        {namespaces.error ? <Alert variant="destructive">{namespaces.error.message}</Alert> : null}
        {!data ? (
          <p className="border-t px-6 py-6 text-sm text-muted-foreground">Loading Kubernetes inventory…</p>
        ) : !reported ? (
          <div className="border-t p-6">
            <EmptyState
              icon={BoxesIcon}
              title="The agent has not reported Kubernetes yet"
              description="An agent running in the cluster reports its namespaces, storage classes and PersistentVolumeClaims with its telemetry. None has arrived from this cluster."
            />
          </div>
        ) : (
          <>
            <CardContent className="border-t py-5">
              <dl className="grid grid-cols-1 gap-5 sm:grid-cols-3">
                <Field label="Version">{data.kubernetesVersion ?? "—"}</Field>
                <Field label="Namespaces">{formatNumber(data.items.length)}</Field>
                <Field label="Storage classes">
                  {classes.data && classes.data.items.length > 0 ? (
                    <ul aria-label="Storage classes" className="flex flex-wrap gap-1.5">
                      {classes.data.items.map((c) => (
                        <li key={c.name} className="flex items-center gap-1">
                          <span className="font-medium">{c.name}</span>
                          {c.isDefault ? <Badge variant="outline">Default</Badge> : null}
                          {c.stowage ? null : <span className="text-muted-foreground">({c.provisioner})</span>}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    "—"
                  )}
                </Field>
              </dl>
            </CardContent>
            <Table aria-label="Namespaces" className="border-t">
              <TableHeader>
                <TableRow>
                  <TableHead>Namespace</TableHead>
                  <TableHead>Status</TableHead>
                  <TableHead>Claims</TableHead>
                  <TableHead>Created</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {data.items.map((n) => (
                  <TableRow key={n.name}>
                    <TableCell className="font-medium">{n.name}</TableCell>
                    <TableCell>{n.phase === "Active" ? <Badge variant="success">Active</Badge> : <Badge variant="warning">Terminating</Badge>}</TableCell>
                    <TableCell className="tabular-nums">{formatNumber(n.claimCount)}</TableCell>
                    <TableCell className="text-muted-foreground">{formatDate(n.createdAt)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </>
        )}
      </Card>
      {reported ? <ClaimsCard clusterId={clusterId} namespaces={data.items.map((n) => n.name)} /> : null}
    </section>
  );
}

function ClaimsCard({ clusterId, namespaces }: { clusterId: string; namespaces: string[] }) {
  const trpc = useTRPC();
  const [namespace, setNamespace] = useState<string | undefined>(undefined);
  const pages = useCursorPages();
  const query = useQuery({
    ...trpc.cluster.listClaims.queryOptions({ clusterId, namespace, cursor: pages.cursor, limit: PAGE_SIZE }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_REFRESH_MS,
  });
  const claims = query.data?.items ?? [];
  return (
    <Card className="gap-0 pb-0">
      <CardHeader className="pb-4">
        <CardTitle>Persistent volume claims</CardTitle>
        <CardDescription>By namespace and name. A claim on Stowage links to its volume.</CardDescription>
      </CardHeader>
      <form aria-label="Filter claims" className="grid grid-cols-1 gap-3 px-6 pb-4 sm:grid-cols-2" onSubmit={(e) => e.preventDefault()}>
        <div className="grid gap-1.5">
          <Label htmlFor="claim-namespace">Namespace</Label>
          <Select
            value={namespace ?? ALL}
            onValueChange={(v) => {
              setNamespace(v === ALL ? undefined : v);
              pages.reset();
            }}
          >
            <SelectTrigger id="claim-namespace">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All namespaces</SelectItem>
              {namespaces.map((n) => (
                <SelectItem key={n} value={n}>
                  {n}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      </form>
      {query.error ? <Alert variant="destructive">{query.error.message}</Alert> : null}
      {query.data && claims.length === 0 ? (
        <p className="border-t px-6 py-6 text-sm text-muted-foreground">
          {namespace === undefined ? "No PersistentVolumeClaims in this cluster." : `No PersistentVolumeClaims in namespace ${namespace}.`}
        </p>
      ) : (
        <Table aria-label="Persistent volume claims" aria-busy={query.isFetching}>
          <TableHeader>
            <TableRow>
              <TableHead>Namespace</TableHead>
              <TableHead>Name</TableHead>
              <TableHead>Status</TableHead>
              <TableHead>Capacity</TableHead>
              <TableHead>Storage class</TableHead>
              <TableHead>Volume</TableHead>
              <TableHead>Pods</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {claims.map((c) => (
              <TableRow key={c.uid} className="align-top">
                <TableCell>{c.namespace}</TableCell>
                <TableCell className="font-medium">{c.name}</TableCell>
                <TableCell>
                  <ClaimPhaseBadge phase={c.phase} />
                </TableCell>
                <TableCell className="tabular-nums">{claimSize(c)}</TableCell>
                <TableCell>{c.storageClass ?? <span className="text-muted-foreground">None</span>}</TableCell>
                <TableCell>
                  {c.volume ? (
                    <Link href={`/volumes/${c.volume.id}`} className="rounded-sm font-medium hover:underline focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
                      {c.volume.name}
                    </Link>
                  ) : (
                    <span className="text-muted-foreground">{c.persistentVolume ?? "—"}</span>
                  )}
                </TableCell>
                <TableCell>
                  <PodList pods={c.pods} claimName={`${c.namespace}/${c.name}`} />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      <CursorPager
        label="Claim pages"
        page={pages.page}
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
