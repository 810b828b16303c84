"use client";

import type { RouterOutputs } from "@stowage/api/client";
import type { CurrencyCode } from "@stowage/billing";
import { ProgressBar } from "~/components/charts/progress-bar";
import { Card, CardContent } from "~/components/ui/card";
import { formatDateTime } from "~/lib/format";
import { formatMinor } from "./format";

type CurrentPeriod = RouterOutputs["billing"]["currentPeriod"];

/**
 * The run rate the forecast extrapolates, per hour: (forecast − month to date) / hours left. The
 * server rates the last 24 complete hours with telemetry; this only reads its result back, in
 * integer minor units (truncated toward zero; it is a hint, not a billed amount).
 */
export function runRatePerHourMinor(period: Pick<CurrentPeriod, "monthToDate" | "forecast" | "hoursElapsed" | "hoursInMonth">): string | null {
  const hoursLeft = period.hoursInMonth - period.hoursElapsed;
  if (hoursLeft <= 0) return null;
  return ((BigInt(period.forecast.totalMinor) - BigInt(period.monthToDate.totalMinor)) / BigInt(hoursLeft)).toString();
}

/** This month's cost so far and its forecast, as big figures with the basis of the forecast under them. */
export function CostMeter({ period }: { period: CurrentPeriod }) {
  const currency: CurrencyCode = period.currency;
  const runRate = runRatePerHourMinor(period);
  return (
    <section aria-label="Cost meter" className="grid gap-4 md:grid-cols-2">
      <Card className="gap-2 py-5">
        <CardContent className="grid gap-1 px-5">
          <p id="meter-mtd" className="text-sm font-medium text-muted-foreground">
            Month to date
          </p>
          <p aria-labelledby="meter-mtd" data-testid="cost-month-to-date" className="text-3xl font-semibold tracking-tight tabular-nums">
            {formatMinor(period.monthToDate.totalMinor, currency)}
          </p>
          <p className="text-xs text-muted-foreground">
            {period.monthToDate.taxMinor === "0" ? "No tax" : `Includes ${formatMinor(period.monthToDate.taxMinor, currency)} tax`} · as of {formatDateTime(period.asOf)}
          </p>
          <ProgressBar label={`Month elapsed: ${period.hoursElapsed} of ${period.hoursInMonth} hours`} value={period.hoursElapsed / period.hoursInMonth} className="mt-2" />
        </CardContent>
      </Card>
      <Card className="gap-2 py-5">
        <CardContent className="grid gap-1 px-5">
          <p id="meter-forecast" className="text-sm font-medium text-muted-foreground">
            Month-end forecast
          </p>
          <p aria-labelledby="meter-forecast" data-testid="cost-forecast" className="text-3xl font-semibold tracking-tight tabular-nums">
            {formatMinor(period.forecast.totalMinor, currency)}
          </p>
          <p className="text-xs text-muted-foreground">
            {runRate === null
              ? "The month is over: the forecast is the month's total."
              : runRate === "0"
                ? "No cost in the last complete hours with telemetry yet: the forecast adds nothing to the month to date."
                : `Run rate ${formatMinor(runRate, currency)} per hour (the last 24 complete hours with telemetry) × ${period.hoursInMonth - period.hoursElapsed} hours left`}
          </p>
        </CardContent>
      </Card>
    </section>
  );
}
