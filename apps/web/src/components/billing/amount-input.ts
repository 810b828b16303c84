import { type CurrencyCode, minorUnitDigits } from "@stowage/billing";

/**
 * "1,250.50" in the currency's major unit → "125050" minor units, exactly (string arithmetic, no
 * floats). Null when the text is not an amount with at most the currency's decimals. Zero and the
 * like are passed on: the API decides what a valid budget is and names the field when it is not.
 */
export function majorToMinor(text: string, currency: CurrencyCode): string | null {
  const digits = minorUnitDigits(currency);
  const clean = text.trim().replace(/,/g, "");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(clean);
  if (!match) return null;
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  return BigInt(whole + fraction.padEnd(digits, "0")).toString();
}

/** Minor units back to the text a person would type: "125050" → "1250.50". */
export function minorToMajorText(minor: string, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return minor;
  const padded = minor.padStart(digits + 1, "0");
  return `${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/** "50, 80 100" → [50, 80, 100]; null when any part is not a whole number. */
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
