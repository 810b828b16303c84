// Shaping metric series for the charts: fewer points than pixels, a scale
// that does not jump on every refresh.

export interface SeriesPoint {
  /** Epoch milliseconds. */
  t: number;
  values: Record<string, number>;
}

/**
 * Averages consecutive points into at most `maxPoints` buckets of equal time
 * width. Averaging (not picking) keeps the area under the curve honest, which
 * is what IOPS and throughput readers compare.
 */
export function downsample(points: readonly SeriesPoint[], maxPoints: number): SeriesPoint[] {
  if (maxPoints < 1) return [];
  if (points.length <= maxPoints) return [...points];
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return [];
  const span = last.t - first.t;
  if (span <= 0) return [averageOf(points)];
  const width = span / maxPoints;
  const buckets: SeriesPoint[][] = Array.from({ length: maxPoints }, () => []);
  for (const p of points) {
    const i = Math.min(maxPoints - 1, Math.floor((p.t - first.t) / width));
    buckets[i]?.push(p);
  }
  return buckets.filter((b) => b.length > 0).map(averageOf);
}

function averageOf(bucket: readonly SeriesPoint[]): SeriesPoint {
  const sums: Record<string, number> = {};
  let t = 0;
  for (const p of bucket) {
    t += p.t;
    for (const [k, v] of Object.entries(p.values)) sums[k] = (sums[k] ?? 0) + v;
  }
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(sums)) values[k] = v / bucket.length;
  return { t: Math.round(t / bucket.length), values };
}

/**
 * Upper bound of the value axis: the largest value rounded up to 1, 2, 2.5 or
 * 5 × 10^n. Live refreshes that change the peak by a little keep the same
 * bound, so the chart does not rescale every few seconds. With `base` 1024 the
 * rounding happens in the binary unit the value is shown in (MiB, GiB…), so
 * byte axes read 20 MiB/s, not 23.8 MiB/s.
 */
export function niceCeiling(max: number, base: 10 | 1024 = 10): number {
  if (!Number.isFinite(max) || max <= 0) return 1;
  if (base === 1024) {
    const scale = 1024 ** Math.max(0, Math.floor(Math.log(max) / Math.log(1024)));
    return niceCeiling(max / scale) * scale;
  }
  const exp = Math.floor(Math.log10(max));
  const decade = 10 ** exp;
  for (const step of [1, 2, 2.5, 5, 10]) {
    const candidate = step * decade;
    if (max <= candidate * (1 + 1e-9)) return candidate;
  }
  return 10 * decade;
}

/** Evenly spaced axis ticks from 0 to a `niceCeiling` bound: five steps divide 1, 2, 2.5 and 5 × 10^n into round numbers. */
export function axisTicks(top: number, steps = 5): number[] {
  return Array.from({ length: steps + 1 }, (_, i) => (top * i) / steps);
}

/** Largest value of the given keys over all points (0 when there are none). */
export function peak(points: readonly SeriesPoint[], keys: readonly string[]): number {
  let max = 0;
  for (const p of points) for (const k of keys) max = Math.max(max, p.values[k] ?? 0);
  return max;
}

/** Mean of one key over the points, or null without points. */
export function mean(points: readonly SeriesPoint[], key: string): number | null {
  if (points.length === 0) return null;
  let sum = 0;
  for (const p of points) sum += p.values[key] ?? 0;
  return sum / points.length;
}

/** Rows from the API (`at` ISO strings) into chart points for the chosen keys. */
export function toSeries<T extends { at: string }>(rows: readonly T[], pick: (row: T) => Record<string, number>): SeriesPoint[] {
  return rows
    .map((r) => ({ t: Date.parse(r.at), values: pick(r) }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
}
