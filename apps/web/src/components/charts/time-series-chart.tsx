"use client";

import { useId } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatClock, formatDateTime, formatMetric, type MetricUnit } from "~/lib/format";
import { axisTicks, downsample, niceCeiling, peak, type SeriesPoint } from "~/lib/series";

export interface ChartSeries {
  key: string;
  label: string;
}

const COLORS = ["var(--color-chart-1, oklch(0.55 0.17 255))", "var(--color-chart-2, oklch(0.65 0.15 160))", "var(--color-chart-3, oklch(0.7 0.15 70))"];
const MAX_POINTS = 120;

/**
 * A line chart over time with the axes configured here once: pages pass the
 * points, the series and a unit. Screen readers get the latest and peak values
 * in the label and the data in a visually hidden table.
 */
export function TimeSeriesChart({
  title,
  unit,
  series,
  points,
  height = 180,
}: {
  title: string;
  unit: MetricUnit;
  series: readonly ChartSeries[];
  points: readonly SeriesPoint[];
  height?: number;
}) {
  const id = useId();
  const shown = downsample(points, MAX_POINTS);
  const keys = series.map((s) => s.key);
  const top = niceCeiling(peak(shown, keys), unit === "bytes" || unit === "bytesPerSec" ? 1024 : 10);
  const data = shown.map((p) => ({ t: p.t, ...p.values }));
  const latest = shown[shown.length - 1];
  // Under ten minutes of data, minute labels would repeat along the axis.
  const withSeconds = latest !== undefined && shown[0] !== undefined && latest.t - shown[0].t < 10 * 60_000;
  const summary =
    latest === undefined
      ? `${title}: no data in this range`
      : `${title}: ${series.map((s) => `${s.label} ${formatMetric(unit, latest.values[s.key] ?? 0)} latest, peak ${formatMetric(unit, peak(shown, [s.key]))}`).join("; ")}`;
  return (
    <figure className="grid gap-2" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`} className="flex flex-wrap items-baseline justify-between gap-x-2 gap-y-1 text-sm font-medium">
        <span>{title}</span>
        <span className="flex flex-wrap justify-end gap-x-3 text-xs font-normal text-muted-foreground">
          {latest === undefined
            ? "No data"
            : series.map((s, i) => (
                <span key={s.key} className="inline-flex items-center gap-1 whitespace-nowrap">
                  <span className="size-2 rounded-full" style={{ background: COLORS[i % COLORS.length] }} aria-hidden />
                  {s.label} {formatMetric(unit, latest.values[s.key] ?? 0)}
                </span>
              ))}
        </span>
      </figcaption>
      <div role="img" aria-label={summary} style={{ height }}>
        {data.length === 0 ? (
          <div className="flex h-full items-center justify-center rounded-md border border-dashed text-xs text-muted-foreground">No samples in the last hour</div>
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={data} margin={{ top: 14, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} className="stroke-border" />
              <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={(t: number) => formatClock(t, withSeconds)} tick={{ fontSize: 11 }} minTickGap={40} />
              <YAxis domain={[0, top]} ticks={axisTicks(top)} interval={0} width={96} tickFormatter={(v: number) => formatMetric(unit, v)} tick={{ fontSize: 11 }} allowDataOverflow={false} />
              <Tooltip
                labelFormatter={(t) => formatDateTime(typeof t === "number" ? t : null)}
                formatter={(v, name) => [formatMetric(unit, typeof v === "number" ? v : 0), String(name)]}
              />
              {series.map((s, i) => (
                <Line key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={COLORS[i % COLORS.length]} strokeWidth={2} dot={false} isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        )}
      </div>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            {series.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((p) => (
            <tr key={p.t}>
              <td>{formatDateTime(p.t)}</td>
              {series.map((s) => (
                <td key={s.key}>{formatMetric(unit, p.values[s.key] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
