// Largest-remainder allocation: splits an integer total in proportion to weights so the parts sum
// exactly to the total (same method as OpenMeter's currencyx allocation), deterministically.
import { type Rational } from "./money";

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/**
 * Splits `total` (any sign) in proportion to non-negative `weights`. Each part is the floor of its
 * exact share (toward zero for negative totals) plus one unit for the largest remainders; equal
 * remainders go to the earlier index, so equal inputs give equal outputs. Parts sum exactly to
 * `total`. Throws when the total is not zero and every weight is zero.
 */
export function allocateLargestRemainder(total: bigint, weights: readonly Rational[]): bigint[] {
  if (total < 0n) return allocateLargestRemainder(-total, weights).map((part) => -part);
  for (const w of weights) if (w.num < 0n) throw new RangeError("allocation weights must not be negative");
  // One common denominator turns the rational weights into integers with the same ratios.
  let lcm = 1n;
  for (const w of weights) lcm = (lcm / gcd(lcm, w.den)) * w.den;
  const scaled = weights.map((w) => (w.num * lcm) / w.den);
  let sum = 0n;
  for (const s of scaled) sum += s;
  if (sum === 0n) {
    if (total === 0n) return weights.map(() => 0n);
    throw new RangeError("cannot allocate a non-zero total over zero weights");
  }
  const parts = scaled.map((s) => (total * s) / sum);
  let given = 0n;
  for (const p of parts) given += p;
  let left = total - given;
  if (left === 0n) return parts;
  const order = scaled
    .map((s, index) => ({ index, remainder: (total * s) % sum }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of order) {
    if (left === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    left -= 1n;
  }
  return parts;
}
