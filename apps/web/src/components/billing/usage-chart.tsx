"use client";

import { useId } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatDay } from "./format";

const COLORS = ["var(--color-chart-1, oklch(0.55 0.17 255))", "var(--color-chart-2, oklch(0.65 0.15 160))", "var(--color-chart-3, oklch(0.7 0.15 70))", "oklch(0.6 0.18 20)", "oklch(0.55 0.12 300)"];

export interface UsageSeries {
  key: string;
  label: string;
}

export interface UsageDay {
  /** The UTC day start, epoch ms. */
  t: number;
  values: Record<string, number>;
}

const largeFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const smallFormat = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });
/** Whole numbers from 100 up, three significant digits below: a fresh month's 0.022 GiB-hours stay readable. */
const numberFormat = { format: (v: number) => (Math.abs(v) >= 100 ? largeFormat.format(v) : smallFormat.format(v)) };

/**
 * Stacked daily bars of one billing unit, one colour per cluster. Axes are configured here once;
 * screen readers get the month's total per cluster in the label and the data in a hidden table.
 */
export function UsageChart({ title, unitLabel, series, days, height = 200 }: { title: string; unitLabel: string; series: readonly UsageSeries[]; days: readonly UsageDay[]; height?: number }) {
  const id = useId();
  const data = days.map((d) => ({ t: d.t, ...d.values }));
  const totals = series.map((s) => ({ ...s, total: days.reduce((sum, d) => sum + (d.values[s.key] ?? 0), 0) }));
  const summary =
    days.length === 0 ? `${title}: no usage this month` : `${title}: ${totals.map((s) => `${s.label} ${numberFormat.format(s.total)} ${unitLabel}`).join("; ")} this month`;
  return (
    <figure className="grid gap-2" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`} className="text-sm font-medium">
        {title}
      </figcaption>
      <div role="img" aria-label={summary} style={{ height }}>
        {data.length === 0 ? (
          <div className="flex h-full items-center justify-center rounded-md border border-dashed text-xs text-muted-foreground">No usage metered this month yet</div>
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} className="stroke-border" />
              <XAxis dataKey="t" tickFormatter={(t: number) => formatDay(t)} tick={{ fontSize: 11 }} minTickGap={16} />
              <YAxis width={64} tickFormatter={(v: number) => numberFormat.format(v)} tick={{ fontSize: 11 }} />
              <Tooltip labelFormatter={(t) => (typeof t === "number" ? `${formatDay(t)} (UTC)` : "")} formatter={(v, name) => [`${numberFormat.format(typeof v === "number" ? v : 0)} ${unitLabel}`, String(name)]} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              {series.map((s, i) => (
                <Bar key={s.key} dataKey={s.key} name={s.label} stackId="usage" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        )}
      </div>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Day (UTC)</th>
            {series.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.t}>
              <td>{formatDay(d.t)}</td>
              {series.map((s) => (
                <td key={s.key}>{numberFormat.format(d.values[s.key] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
