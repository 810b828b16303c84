/**
 * Kubernetes resource quantities ("10Gi", "500M", "1e3") as whole bytes, and bytes back to the
 * canonical form the API server would print: storage sizes need exact integers, so values past
 * 2^53 are refused rather than rounded.
 */
const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const quantityRe = /^([+-]?[0-9.]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export function quantityToBytes(quantity: string): number {
  const m = quantityRe.exec(quantity.trim());
  if (!m?.[1]) throw new Error(`quantity ${JSON.stringify(quantity)} is not a Kubernetes quantity`);
  const number = Number(m[1]);
  const suffix = m[2];
  const factor = suffix === undefined ? 10 ** Number(m[3] ?? "0") : (binary[suffix] ?? decimal[suffix] ?? 1);
  // Fractional bytes round up, as the API server's Value() does.
  const bytes = Math.ceil(number * factor);
  if (!Number.isSafeInteger(bytes)) throw new Error(`quantity ${JSON.stringify(quantity)} is out of range`);
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
