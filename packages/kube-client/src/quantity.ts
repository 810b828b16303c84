/**
 * Kubernetes resource quantities ("5Gi", "500M", "1e3"): as numbers of base units for comparing
 * sizes, as whole bytes for storage (exact integers, so values past 2^53 are refused rather than
 * rounded), and bytes back in the canonical form the API server prints. The API server keeps a
 * quantity as the user wrote it, so a claim's size arrives in any of these forms.
 */
const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Undefined for a value that is not a quantity (the caller decides what that means). */
export function parseQuantity(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? "";
  return n * (binary[suffix] ?? decimal[suffix] ?? 1);
}

/** Whole bytes; fractional bytes round up, as the API server's Value() does. Throws naming the value when it is not a byte count. */
export function quantityToBytes(quantity: string): number {
  const value = parseQuantity(quantity);
  if (value === undefined) throw new Error(`quantity ${JSON.stringify(quantity)} is not a Kubernetes quantity`);
  const bytes = Math.ceil(value);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`quantity ${JSON.stringify(quantity)} is not a byte count (a whole number from 0 to 2^53)`);
  return bytes;
}

/** Bytes as a quantity: the largest binary suffix that divides it exactly, else plain bytes (resource.NewQuantity(n, BinarySI)). */
export function bytesToQuantity(bytes: number): string {
  for (const suffix of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
    const f = binary[suffix] ?? 1;
    if (bytes !== 0 && bytes % f === 0) return `${bytes / f}${suffix}`;
  }
  return String(bytes);
}
