/**
 * Kubernetes resource quantities ("10Gi", "500M", "1.5e9", "1024") as bytes.
 * The API server keeps a quantity as the user wrote it, so a claim's size
 * arrives in any of these forms; sizes of volumes are whole bytes, rounded up.
 */
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E))?$/;

/** Bytes, rounded up; throws naming the value when it is not a quantity or not a safe non-negative integer. */
export function quantityToBytes(value: string): number {
  const m = QUANTITY.exec(value.trim());
  if (!m?.[1]) throw new Error(`"${value}" is not a Kubernetes quantity`);
  const number = Number(m[1]);
  const factor = m[2] !== undefined ? (BINARY[m[2]] ?? 1) : m[3] !== undefined ? 10 ** Number(m[3].slice(1)) : (DECIMAL[m[4] ?? ""] ?? 1);
  const bytes = Math.ceil(number * factor);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`"${value}" is not a byte count this agent can hold`);
  return bytes;
}
