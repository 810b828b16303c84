/** "50, 80 100" → [50, 80, 100]; null when any part is not a whole number. The API judges the range (1..1000). */
export function parseThresholds(text: string): number[] | null {
  const parts = text.split(/[\s,;%]+/).filter(Boolean);
  if (parts.length === 0) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) return null;
    out.push(Number(p));
  }
  return out;
}
