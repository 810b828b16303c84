/** Sorted hour indexes of a month as runs: [3,4,5,9] → [[3,5],[9,9]]. */
export function hourRuns(hours: readonly number[]): Array<[number, number]> {
  const sorted = [...hours].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const h of sorted) {
    const last = runs[runs.length - 1];
    if (last && h === last[1] + 1) last[1] = h;
    else if (!last || h > last[1]) runs.push([h, h]);
  }
  return runs;
}
