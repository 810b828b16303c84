"use client";

import type { RouterOutputs } from "@stowage/api/client";
import type { BillingUnit } from "@stowage/billing";
import { useSuspenseQuery } from "@tanstack/react-query";
import { ReceiptIcon } from "lucide-react";
import Link from "next/link";
import { EmptyState } from "~/components/empty-state";
import { LIVE_REFRESH_MS } from "~/components/fleet/status";
import { PageHeader } from "~/components/page-header";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { CostMeter } from "./cost-meter";
import { formatMinor, formatMonth, formatQuantity, formatQuantityPrecise } from "./format";
import { TableFooter } from "./table-footer";
import { type UsageDay, UsageChart } from "./usage-chart";

// Capacity minutes accrue every minute, so usage charts need no faster refresh than this.
const USAGE_REFRESH_MS = 60_000;

const CHARTS: { unit: BillingUnit; title: string; unitLabel: string }[] = [
  { unit: "node_hour", title: "Node-hours per day", unitLabel: "node-hours" },
  { unit: "provisioned_gib_hour", title: "Provisioned GiB-hours per day", unitLabel: "GiB-hours" },
  { unit: "replicated_gib_hour", title: "Replicated GiB-hours per day (extra copies)", unitLabel: "GiB-hours" },
];

/** Usage points regrouped per unit into daily rows keyed by cluster id. */
function daysOf(points: RouterOutputs["billing"]["usage"]["points"], unit: BillingUnit): UsageDay[] {
  const byDay = new Map<number, Record<string, number>>();
  for (const p of points) {
    if (p.unit !== unit) continue;
    const t = Date.parse(p.at);
    const row = byDay.get(t) ?? {};
    row[p.clusterId] = (row[p.clusterId] ?? 0) + Number(p.quantity);
    byDay.set(t, row);
  }
  return [...byDay.entries()].sort(([a], [b]) => a - b).map(([t, values]) => ({ t, values }));
}

export function BillingOverview() {
  const trpc = useTRPC();
  // Live like the fleet pages: the meter polls, so it moves as telemetry is metered.
  const { data: period } = useSuspenseQuery({ ...trpc.billing.currentPeriod.queryOptions({}), refetchInterval: LIVE_REFRESH_MS });
  const { data: usage } = useSuspenseQuery({ ...trpc.billing.usage.queryOptions({ granularity: "day" }), refetchInterval: USAGE_REFRESH_MS });
  const series = period.clusters.map((c) => ({ key: c.clusterId, label: c.clusterName }));
  const draftId = `draft-${period.month}`;

  return (
    <>
      <PageHeader
        title="Billing"
        description={`${formatMonth(period.month)} so far and where it is heading, per cluster, refreshed every few seconds. Hours are UTC.`}
        actions={
          <Button variant="outline" asChild>
            <Link href={`/billing/invoices/${draftId}`}>This month&apos;s draft invoice</Link>
          </Button>
        }
      />
      <BillingTabs />
      <CostMeter period={period} />
      {period.clusters.length === 0 ? (
        <EmptyState
          icon={ReceiptIcon}
          title="Nothing metered yet"
          description="Usage is metered from what cluster agents report: node-hours and GiB-hours appear here once a cluster's agent sends telemetry."
          action={
            <Button asChild>
              <Link href="/clusters">Go to clusters</Link>
            </Button>
          }
        />
      ) : (
        <Card className="py-0">
          <Table aria-label="Cost per cluster">
            <TableHeader>
              <TableRow>
                <TableHead>Cluster</TableHead>
                <TableHead className="text-right">Node-hours</TableHead>
                <TableHead className="text-right">Provisioned GiB-hours</TableHead>
                <TableHead className="text-right">Replicated GiB-hours</TableHead>
                <TableHead className="text-right">Month to date</TableHead>
                <TableHead className="text-right">Forecast</TableHead>
                <TableHead>
                  <span className="sr-only">Showback</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {period.clusters.map((c) => (
                <TableRow key={c.clusterId}>
                  <TableCell className="font-medium">{c.clusterName}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatQuantity(c.nodeHours)}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatQuantityPrecise(c.provisionedGibHours)}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatQuantityPrecise(c.replicatedGibHours)}</TableCell>
                  <TableCell className="text-right font-medium tabular-nums">{formatMinor(c.monthToDateMinor, period.currency)}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatMinor(c.forecastMinor, period.currency)}</TableCell>
                  <TableCell className="text-right">
                    <Link href={`/billing/showback?cluster=${c.clusterId}`} className="text-sm text-muted-foreground hover:underline" aria-label={`Showback of ${c.clusterName} by namespace`}>
                      By namespace
                    </Link>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
            <TableFooter>
              <TableRow>
                <TableCell colSpan={4}>All clusters{period.monthToDate.taxMinor === "0" ? "" : " (tax included in the totals)"}</TableCell>
                <TableCell className="text-right font-semibold tabular-nums">{formatMinor(period.monthToDate.totalMinor, period.currency)}</TableCell>
                <TableCell className="text-right font-semibold tabular-nums">{formatMinor(period.forecast.totalMinor, period.currency)}</TableCell>
                <TableCell />
              </TableRow>
            </TableFooter>
          </Table>
        </Card>
      )}
      <Card>
        <CardHeader>
          <CardTitle>Usage this month</CardTitle>
          <CardDescription>Metered per UTC day and cluster, before pricing. Hours without telemetry count nothing.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-8 lg:grid-cols-3">
          {CHARTS.map((chart) => (
            <UsageChart key={chart.unit} title={chart.title} unitLabel={chart.unitLabel} series={series} days={daysOf(usage.points, chart.unit)} />
          ))}
        </CardContent>
      </Card>
    </>
  );
}
