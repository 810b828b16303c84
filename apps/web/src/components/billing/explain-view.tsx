"use client";

import type { RouterInputs, RouterOutputs } from "@stowage/api/client";
import { UNIT_LABELS } from "@stowage/billing";
import { useSuspenseQuery } from "@tanstack/react-query";
import Link from "next/link";
import { PageHeader } from "~/components/page-header";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { cn } from "~/lib/utils";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { ExcludeNodeDialog } from "./exclude-node-dialog";
import { formatHourUtc, formatMonth, formatQuantity, formatQuantityPrecise, monthStartMs } from "./format";
import { hourRuns } from "./hour-ranges";

type Explanation = RouterOutputs["billing"]["explainLine"];
type Hour = Explanation["hours"][number];
export type ExplainInput = RouterInputs["billing"]["explainLine"];

const HOUR_MS = 3_600_000;
const RUNS_SHOWN = 6;

/** "Nov 3, 14:00 UTC – Nov 3, 17:00 UTC" per run of hours, the first few and a count of the rest. */
function RunList({ month, hours, empty }: { month: string; hours: readonly number[]; empty: string }) {
  const start = monthStartMs(month);
  const runs = hourRuns(hours);
  if (runs.length === 0) return <span className="text-muted-foreground">{empty}</span>;
  const shown = runs.slice(0, RUNS_SHOWN);
  return (
    <span>
      {shown.map(([a, b]) => (a === b ? formatHourUtc(start + a * HOUR_MS) : `${formatHourUtc(start + a * HOUR_MS)} – ${formatHourUtc(start + (b + 1) * HOUR_MS)}`)).join("; ")}
      {runs.length > RUNS_SHOWN ? ` and ${runs.length - RUNS_SHOWN} more` : ""}
    </span>
  );
}

interface DayRow {
  day: number;
  hours: Hour[];
}

function daysOf(hours: readonly Hour[], month: string): DayRow[] {
  const start = monthStartMs(month);
  const days = new Map<number, Hour[]>();
  for (const h of hours) {
    const day = Math.floor((Date.parse(h.at) - start) / (24 * HOUR_MS));
    days.set(day, [...(days.get(day) ?? []), h]);
  }
  return [...days.entries()].sort(([a], [b]) => a - b).map(([day, hs]) => ({ day, hours: hs }));
}

const dayLabel = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", weekday: "short", timeZone: "UTC" });

/**
 * One cell per hour of a day: billed (dark), partly reported (light: some nodes or minutes without
 * telemetry), nothing reported (hatched). Decorative; the counts beside it say the same.
 */
function HourStrip({ hours, missingNodes }: { hours: readonly Hour[]; missingNodes: ReadonlyMap<number, number> }) {
  return (
    <div className="flex gap-px" aria-hidden>
      {hours.map((h) => (
        <span
          key={h.hour}
          title={`${formatHourUtc(h.at)}: ${hourText(h, missingNodes.get(h.hour) ?? 0)}`}
          className={cn(
            "h-4 w-2.5 rounded-[2px]",
            !h.billed
              ? "bg-[repeating-linear-gradient(45deg,var(--color-border),var(--color-border)_2px,transparent_2px,transparent_4px)] ring-1 ring-border ring-inset"
              : h.coveredMinutes < 60 || (missingNodes.get(h.hour) ?? 0) > 0
                ? "bg-primary/35"
                : "bg-primary",
          )}
        />
      ))}
    </div>
  );
}

function hourText(h: Hour, missingNodes: number): string {
  if (!h.billed) return "no telemetry, not billed";
  if (missingNodes > 0) return `${h.nodes} node(s) billed, ${missingNodes} without telemetry (not billed)`;
  if (h.coveredMinutes < 60) return `${h.coveredMinutes} of 60 minutes reported; the rest not billed`;
  return "billed";
}

type Exclusion = RouterOutputs["billing"]["nodeExclusions"]["list"]["items"][number];

function NodeExclusionCell({ clusterId, nodeId, exclusion }: { clusterId: string; nodeId: string; exclusion: Exclusion | null }) {
  if (!exclusion) return <ExcludeNodeDialog clusterId={clusterId} nodeId={nodeId} />;
  return (
    <Link href="/billing/exclusions" title={`Excluded from ${formatHourUtc(exclusion.from)}`} aria-label={`${exclusion.state === "active" ? "Excluded" : "Scheduled"}: the exclusion of ${nodeId}`} className="rounded-md outline-none focus-visible:ring-2 focus-visible:ring-ring">
      <Badge variant={exclusion.state === "active" ? "warning" : "secondary"}>{exclusion.state === "active" ? "Excluded" : "Scheduled"}</Badge>
    </Link>
  );
}

export function ExplainView({ input }: { input: ExplainInput }) {
  const trpc = useTRPC();
  const { data: e } = useSuspenseQuery(trpc.billing.explainLine.queryOptions(input));
  const { data: exclusions } = useSuspenseQuery(trpc.billing.nodeExclusions.list.queryOptions({ clusterId: input.clusterId }));
  // A node with an exclusion in force or scheduled links to it instead of offering another.
  const excludedNow = new Map(exclusions.items.filter((x) => x.state !== "ended").map((x) => [x.nodeId, x]));
  const unitName = UNIT_LABELS[e.unit];
  const isNodeHours = e.unit === "node_hour";
  const billedHours = e.hours.filter((h) => h.billed).length;
  const excluded = e.nodes.reduce((n, node) => n + node.excludedHours.length, 0);
  const days = daysOf(e.hours, e.month);
  // Node-hours: per hour, how many of the line's nodes did not report (so did not count).
  const missingNodes = new Map<number, number>();
  for (const n of e.nodes) for (const h of n.notBilledHours) missingNodes.set(h, (missingNodes.get(h) ?? 0) + 1);
  const notBilledNodeHours = e.nodes.reduce((n, node) => n + node.notBilledHours.length, 0);
  return (
    <>
      <PageHeader
        title={`Explain: ${unitName}${e.nodeClass ? ` (${e.nodeClass})` : ""}, ${e.clusterName}`}
        description={`${formatMonth(e.month)}: every hour behind the line${isNodeHours ? " and the nodes that reported in it" : ""}. Hours are UTC; hours without telemetry are not billed.`}
        actions={
          <Button variant="outline" asChild>
            <Link href={`/billing/showback?cluster=${e.clusterId}&month=${e.month}`}>Showback of {e.clusterName}</Link>
          </Button>
        }
      />
      <BillingTabs />
      <section aria-label="Line summary" className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <Card className="gap-1 py-4">
          <CardContent className="px-4">
            <p className="text-xs font-medium text-muted-foreground">Billed {unitName.toLowerCase()}</p>
            <p className="text-2xl font-semibold tabular-nums" data-testid="explain-quantity">
              {isNodeHours ? formatQuantity(e.quantity) : formatQuantityPrecise(e.quantity)}
            </p>
          </CardContent>
        </Card>
        <Card className="gap-1 py-4">
          <CardContent className="px-4">
            <p className="text-xs font-medium text-muted-foreground">Hours with telemetry</p>
            <p className="text-2xl font-semibold tabular-nums">
              {billedHours} <span className="text-sm font-normal text-muted-foreground">of {e.hours.length}</span>
            </p>
          </CardContent>
        </Card>
        <Card className="gap-1 py-4">
          <CardContent className="px-4">
            <p className="text-xs font-medium text-muted-foreground">{isNodeHours ? "Node-hours without telemetry" : "Hours without telemetry"}</p>
            <p className="text-2xl font-semibold tabular-nums">{isNodeHours ? notBilledNodeHours : e.hoursWithoutTelemetry.length}</p>
            <p className="text-xs text-muted-foreground">
              Not billed{isNodeHours ? ` · ${e.hoursWithoutTelemetry.length} hour(s) with no node reporting` : ""}
            </p>
          </CardContent>
        </Card>
        <Card className="gap-1 py-4">
          <CardContent className="px-4">
            <p className="text-xs font-medium text-muted-foreground">{isNodeHours ? "Excluded node-hours" : "Minutes not reported"}</p>
            <p className="text-2xl font-semibold tabular-nums">{isNodeHours ? excluded : e.hours.reduce((n, h) => n + (60 - h.coveredMinutes), 0)}</p>
            <p className="text-xs text-muted-foreground">{isNodeHours ? "Kept off the bill by an admin" : "Never billed"}</p>
          </CardContent>
        </Card>
      </section>
      {isNodeHours ? (
        <Card className="py-0">
          <Table aria-label="Nodes">
            <TableHeader>
              <TableRow>
                <TableHead>Node</TableHead>
                <TableHead>Class</TableHead>
                <TableHead className="text-right">Billed hours</TableHead>
                <TableHead className="text-right">Excluded</TableHead>
                <TableHead className="text-right">Not billed</TableHead>
                <TableHead>Hours without telemetry from this node</TableHead>
                <TableHead>
                  <span className="sr-only">Billing</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {e.nodes.length === 0 ? (
                <TableRow>
                  <TableCell colSpan={7} className="py-8 text-center text-muted-foreground">
                    No node reported in this month.
                  </TableCell>
                </TableRow>
              ) : (
                e.nodes.map((n) => (
                  <TableRow key={n.nodeId}>
                    <TableCell className="font-mono text-xs">{n.nodeId}</TableCell>
                    <TableCell>{n.nodeClasses.filter(Boolean).join(", ") || <span className="text-muted-foreground">none reported</span>}</TableCell>
                    <TableCell className="text-right tabular-nums">{n.billedHours.length}</TableCell>
                    <TableCell className="text-right tabular-nums">{n.excludedHours.length > 0 ? <span title="Excluded by an admin">{n.excludedHours.length} excluded</span> : "0"}</TableCell>
                    <TableCell className="text-right tabular-nums">{n.notBilledHours.length}</TableCell>
                    <TableCell className="max-w-xs text-xs whitespace-normal">
                      <RunList month={e.month} hours={n.notBilledHours} empty="Reported every hour" />
                    </TableCell>
                    <TableCell className="text-right">
                      <NodeExclusionCell clusterId={e.clusterId} nodeId={n.nodeId} exclusion={excludedNow.get(n.nodeId) ?? null} />
                    </TableCell>
                  </TableRow>
                ))
              )}
            </TableBody>
          </Table>
        </Card>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>Hours by day</CardTitle>
          <CardDescription>
            <span className="inline-flex items-center gap-1.5">
              <span className="size-3 rounded-[2px] bg-primary" aria-hidden /> billed
            </span>
            {isNodeHours ? null : (
              <span className="ml-3 inline-flex items-center gap-1.5">
                <span className="size-3 rounded-[2px] bg-primary/35" aria-hidden /> partly reported (missing minutes not billed)
              </span>
            )}
            {isNodeHours ? (
              <span className="ml-3 inline-flex items-center gap-1.5">
                <span className="size-3 rounded-[2px] bg-primary/35" aria-hidden /> some nodes without telemetry (their hours not billed)
              </span>
            ) : null}
            <span className="ml-3 inline-flex items-center gap-1.5">
              <span className="size-3 rounded-[2px] ring-1 ring-border ring-inset" aria-hidden /> no telemetry: not billed
            </span>
          </CardDescription>
        </CardHeader>
        <CardContent className="px-0">
          <Table aria-label="Hours by day">
            <TableHeader>
              <TableRow>
                <TableHead>Day (UTC)</TableHead>
                <TableHead>Hours</TableHead>
                <TableHead className="text-right">Hours with telemetry</TableHead>
                <TableHead className="text-right">{isNodeHours ? "Node-hours not billed" : "Hours not billed"}</TableHead>
                <TableHead className="text-right">{unitName}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {days.map((d) => {
                const silentHours = d.hours.filter((h) => !h.billed).length;
                const notBilled = isNodeHours ? d.hours.reduce((n, h) => n + (missingNodes.get(h.hour) ?? 0), 0) : silentHours;
                const quantity = d.hours.reduce((sum, h) => sum + Number(h.quantity), 0);
                return (
                  <TableRow key={d.day}>
                    <TableCell>{dayLabel.format(new Date(monthStartMs(e.month) + d.day * 24 * HOUR_MS))}</TableCell>
                    <TableCell>
                      <HourStrip hours={d.hours} missingNodes={missingNodes} />
                    </TableCell>
                    <TableCell className="text-right tabular-nums">{d.hours.length - silentHours}</TableCell>
                    <TableCell className={cn("text-right tabular-nums", notBilled > 0 && "font-medium text-[oklch(0.48_0.12_70)]")}>{notBilled}</TableCell>
                    <TableCell className="text-right tabular-nums">{isNodeHours ? formatQuantity(String(quantity)) : formatQuantityPrecise(String(quantity))}</TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      {e.hoursWithoutTelemetry.length > 0 ? (
        <Card>
          <CardHeader>
            <CardTitle>Hours without telemetry (not billed)</CardTitle>
            <CardDescription>Nothing of {e.clusterName} reported in these hours, so nothing was billed for them.</CardDescription>
          </CardHeader>
          <CardContent className="text-sm" data-testid="explain-not-billed">
            <RunList month={e.month} hours={e.hoursWithoutTelemetry} empty="None" />
          </CardContent>
        </Card>
      ) : null}
    </>
  );
}
