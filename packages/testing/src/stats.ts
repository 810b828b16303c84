/** Summary statistics the benchmarks report. */

/** The nearest-rank percentile (p in 0..100) of `values`: a value that occurred, never an interpolation; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}
