"use client";

import { useSuspenseQuery } from "@tanstack/react-query";
import { PieChartIcon } from "lucide-react";
import { usePathname, useRouter } from "next/navigation";
import { Suspense } from "react";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Card } from "~/components/ui/card";
import { Label } from "~/components/ui/label";
import { Skeleton } from "~/components/ui/skeleton";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { formatPercent } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { formatMinor, formatMonth, formatQuantityPrecise, recentMonths } from "./format";
import { TableFooter } from "./table-footer";

const MONTHS_OFFERED = 12;

/** A cluster's cost of a month by namespace. The cluster and month live in the URL, so a view can be linked. */
export function ShowbackView({ clusterId, month }: { clusterId: string | null; month: string | null }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const { data: period } = useSuspenseQuery(trpc.billing.currentPeriod.queryOptions({}));
  const cluster = period.clusters.find((c) => c.clusterId === clusterId) ?? period.clusters[0] ?? null;
  const selectedMonth = month ?? period.month;
  const go = (next: { cluster?: string; month?: string }) => {
    const params = new URLSearchParams({ cluster: next.cluster ?? cluster?.clusterId ?? "", month: next.month ?? selectedMonth });
    router.replace(`${pathname}?${params.toString()}`);
  };
  return (
    <>
      <PageHeader title="Showback" description="A cluster's cost split across its namespaces by claimed capacity × replicas; what no claim holds is (unallocated). Shares add up exactly to the cluster's lines." />
      <BillingTabs />
      {cluster === null ? (
        <EmptyState icon={PieChartIcon} title="No clusters to show back" description="Showback appears once a cluster's agent reports usage." />
      ) : (
        <>
          <div className="flex flex-wrap gap-4">
            <div className="grid gap-1.5">
              <Label htmlFor="showback-cluster">Cluster</Label>
              <Select value={cluster.clusterId} onValueChange={(v) => go({ cluster: v })}>
                <SelectTrigger id="showback-cluster" className="w-56">
                  <SelectValue />
                </SelectTrigger>
                <SelectContent>
                  {period.clusters.map((c) => (
                    <SelectItem key={c.clusterId} value={c.clusterId}>
                      {c.clusterName}
                    </SelectItem>
                  ))}
                </SelectContent>
              </Select>
            </div>
            <div className="grid gap-1.5">
              <Label htmlFor="showback-month">Month</Label>
              <Select value={selectedMonth} onValueChange={(v) => go({ month: v })}>
                <SelectTrigger id="showback-month" className="w-48">
                  <SelectValue />
                </SelectTrigger>
                <SelectContent>
                  {recentMonths(period.month, MONTHS_OFFERED).map((m) => (
                    <SelectItem key={m} value={m}>
                      {formatMonth(m)}
                    </SelectItem>
                  ))}
                </SelectContent>
              </Select>
            </div>
          </div>
          <Suspense fallback={<Skeleton className="h-48 w-full" aria-label="Loading showback" />}>
            <ShowbackTable clusterId={cluster.clusterId} month={selectedMonth} />
          </Suspense>
        </>
      )}
    </>
  );
}

function ShowbackTable({ clusterId, month }: { clusterId: string; month: string }) {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.billing.showback.queryOptions({ clusterId, month }));
  const total = BigInt(data.totalMinor);
  const sum = data.namespaces.reduce((s, n) => s + BigInt(n.amountMinor), 0n);
  return (
    <Card className="py-0">
      <Table aria-label={`Cost of ${data.clusterName} by namespace, ${formatMonth(data.month)}`}>
        <TableHeader>
          <TableRow>
            <TableHead>Namespace</TableHead>
            <TableHead className="text-right">Claimed GiB-hours × replicas</TableHead>
            <TableHead>Share</TableHead>
            <TableHead className="text-right">Cost</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {data.namespaces.length === 0 ? (
            <TableRow>
              <TableCell colSpan={4} className="py-8 text-center text-muted-foreground">
                No cost for {data.clusterName} in {formatMonth(data.month)}.
              </TableCell>
            </TableRow>
          ) : (
            data.namespaces.map((n) => {
              // Shares are of integer amounts: exact in bigint, then a ratio for the bar only.
              const share = total === 0n ? 0 : Number((BigInt(n.amountMinor) * 10_000n) / total) / 10_000;
              return (
                <TableRow key={n.namespace}>
                  <TableCell className={n.namespace === "(unallocated)" ? "text-muted-foreground italic" : "font-medium"}>{n.namespace}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatQuantityPrecise(n.weightGibHours)}</TableCell>
                  <TableCell>
                    <div className="flex items-center gap-2">
                      <div className="h-2 w-40 overflow-hidden rounded-full bg-muted" aria-hidden>
                        <div className="h-full rounded-full bg-primary" style={{ width: `${share * 100}%` }} />
                      </div>
                      <span className="w-12 text-right text-xs text-muted-foreground tabular-nums">{formatPercent(share, 1)}</span>
                    </div>
                  </TableCell>
                  <TableCell className="text-right font-medium tabular-nums">{formatMinor(n.amountMinor, data.currency)}</TableCell>
                </TableRow>
              );
            })
          )}
        </TableBody>
        <TableFooter>
          <TableRow>
            <TableCell colSpan={3}>
              {data.clusterName}, {formatMonth(data.month)}
              <span className="ml-2 text-xs font-normal text-muted-foreground">{sum === total ? "Namespaces add up to the cluster's lines exactly." : "Namespaces do not add up to the cluster's lines."}</span>
            </TableCell>
            <TableCell className="text-right font-semibold tabular-nums" data-testid="showback-total">
              {formatMinor(data.totalMinor, data.currency)}
            </TableCell>
          </TableRow>
        </TableFooter>
      </Table>
    </Card>
  );
}
