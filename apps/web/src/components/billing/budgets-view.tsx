"use client";

import type { RouterOutputs } from "@stowage/api/client";
import type { CurrencyCode } from "@stowage/billing";
import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { PencilIcon, PiggyBankIcon, PlusIcon, Trash2Icon } from "lucide-react";
import { useState } from "react";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "~/components/ui/alert-dialog";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "~/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "~/components/ui/table";
import { toast } from "~/components/ui/toaster";
import { LIVE_REFRESH_MS } from "~/components/fleet/status";
import { useTRPC } from "~/trpc/react";
import { BillingTabs } from "./billing-tabs";
import { BudgetDialog } from "./budget-dialog";
import { formatMinor } from "./format";

type Budget = RouterOutputs["billing"]["budgets"]["list"]["items"][number];

/** amount × percent / 100 in minor units (truncated: a threshold is a line to cross, not a charge). */
function thresholdMinor(amountMinor: string, percent: number): string {
  return ((BigInt(amountMinor) * BigInt(percent)) / 100n).toString();
}

/** Spend against the amount, with a tick per threshold; the numbers are in the table beside it. */
function SpendBar({ label, spentMinor, budget }: { label: string; spentMinor: string; budget: Budget }) {
  const amount = BigInt(budget.amountMinor);
  const top = Math.max(100, ...budget.thresholds);
  const percent = amount === 0n ? 0 : Number((BigInt(spentMinor) * 10_000n) / amount) / 100;
  return (
    <div className="grid gap-1">
      <div className="flex justify-between text-xs text-muted-foreground">
        <span>{label}</span>
        <span className="tabular-nums">
          {formatMinor(spentMinor, budget.currency)} · {percent.toLocaleString("en-US", { maximumFractionDigits: 1 })} %
        </span>
      </div>
      <div
        role="meter"
        aria-label={`${label} of ${budget.name}`}
        aria-valuemin={0}
        aria-valuemax={top}
        aria-valuenow={Math.min(top, percent)}
        aria-valuetext={`${percent.toLocaleString("en-US", { maximumFractionDigits: 1 })} % of the budget`}
        className="relative h-2.5 overflow-hidden rounded-full bg-muted"
      >
        <div className={percent >= 100 ? "h-full bg-destructive" : percent >= Math.min(...budget.thresholds) ? "h-full bg-warning" : "h-full bg-primary"} style={{ width: `${Math.min(100, (percent / top) * 100)}%` }} />
        {budget.thresholds.map((t) => (
          <span key={t} className="absolute top-0 h-full w-px bg-foreground/60" style={{ left: `${(t / top) * 100}%` }} aria-hidden />
        ))}
      </div>
    </div>
  );
}

function DeleteBudget({ budget }: { budget: Budget }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const remove = useMutation(
    trpc.billing.budgets.delete.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        await queryClient.invalidateQueries({ queryKey: trpc.billing.budgets.list.queryKey() });
      },
      onError: (err) => toast(err.message, { variant: "destructive" }),
    }),
  );
  return (
    <AlertDialog open={open} onOpenChange={setOpen}>
      <AlertDialogTrigger asChild>
        <Button variant="ghost" size="sm" aria-label={`Delete budget ${budget.name}`}>
          <Trash2Icon aria-hidden />
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>Delete budget {budget.name}?</AlertDialogTitle>
          <AlertDialogDescription>Its thresholds stop raising alerts. Alerts it already raised stay in the alert history.</AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          <Button variant="destructive" disabled={remove.isPending} onClick={() => remove.mutate({ id: budget.id })}>
            {remove.isPending ? "Deleting…" : "Delete budget"}
          </Button>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

function BudgetCard({ budget }: { budget: Budget }) {
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-2">
        <div className="grid gap-1">
          <CardTitle as="h2">{budget.name}</CardTitle>
          <CardDescription>
            {formatMinor(budget.amountMinor, budget.currency)} a month · thresholds {budget.thresholds.map((t) => `${t} %`).join(", ")}
          </CardDescription>
        </div>
        <div className="flex gap-1">
          <BudgetDialog
            currency={budget.currency}
            budget={budget}
            trigger={
              <Button variant="ghost" size="sm" aria-label={`Edit budget ${budget.name}`}>
                <PencilIcon aria-hidden />
              </Button>
            }
          />
          <DeleteBudget budget={budget} />
        </div>
      </CardHeader>
      <CardContent className="grid gap-4">
        <SpendBar label="Month to date" spentMinor={budget.actualMinor} budget={budget} />
        <SpendBar label="Forecast" spentMinor={budget.forecastMinor} budget={budget} />
        <Table aria-label={`Thresholds of ${budget.name}`}>
          <TableHeader>
            <TableRow>
              <TableHead>Threshold</TableHead>
              <TableHead className="text-right">At</TableHead>
              <TableHead>Month to date</TableHead>
              <TableHead>Forecast</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {budget.thresholds.map((t) => (
              <TableRow key={t}>
                <TableCell className="font-medium tabular-nums">{t} %</TableCell>
                <TableCell className="text-right tabular-nums">{formatMinor(thresholdMinor(budget.amountMinor, t), budget.currency)}</TableCell>
                <TableCell>{budget.crossedActual.includes(t) ? <Badge variant="destructive">Crossed</Badge> : <Badge variant="secondary">Below</Badge>}</TableCell>
                <TableCell>{budget.crossedForecast.includes(t) ? <Badge variant="warning">Will cross</Badge> : <Badge variant="secondary">Below</Badge>}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

export function BudgetsView() {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery({ ...trpc.billing.budgets.list.queryOptions({}), refetchInterval: LIVE_REFRESH_MS * 6 });
  const { data: settings } = useSuspenseQuery(trpc.billing.settings.get.queryOptions({}));
  const currency: CurrencyCode = settings.currency;
  const createButton = (
    <BudgetDialog
      currency={currency}
      trigger={
        <Button>
          <PlusIcon aria-hidden />
          Create budget
        </Button>
      }
    />
  );
  return (
    <>
      <PageHeader title="Budgets" description="Monthly amounts with several thresholds, judged on the month to date and on the forecast; a crossing raises an alert." actions={data.items.length > 0 ? createButton : null} />
      <BillingTabs />
      {data.items.length === 0 ? (
        <EmptyState icon={PiggyBankIcon} title="No budgets yet" description="Set a monthly amount and get an alert at, say, 50 %, 80 % and 100 % of it — before the month ends, from the forecast." action={createButton} />
      ) : (
        <div className="grid gap-4 lg:grid-cols-2">
          {data.items.map((b) => (
            <BudgetCard key={b.id} budget={b} />
          ))}
        </div>
      )}
    </>
  );
}
