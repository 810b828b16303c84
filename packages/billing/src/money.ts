// Exact money: amounts are bigint minor units; intermediate values are rationals (bigint over
// bigint) so nothing is rounded until the one half-to-even rounding per line.
import { type CurrencyCode, minorUnitDigits } from "./currency";

/** An exact fraction; `den` is always > 0 and the pair is in lowest terms. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

export const ROUNDING_RULE =
  "Amounts are computed exactly and rounded once per line to the currency's minor unit, half to even; totals are sums of rounded lines.";

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

export function rational(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new RangeError("rational: zero denominator");
  const sign = den < 0n ? -1n : 1n;
  const g = gcd(num, den);
  if (g === 0n) return { num: 0n, den: 1n };
  return { num: (sign * num) / g, den: (sign * den) / g };
}

export const ZERO: Rational = { num: 0n, den: 1n };

export function addR(a: Rational, b: Rational): Rational {
  if (a.den === b.den) return rational(a.num + b.num, a.den);
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function subR(a: Rational, b: Rational): Rational {
  return addR(a, { num: -b.num, den: b.den });
}

export function mulR(a: Rational, b: Rational): Rational {
  return rational(a.num * b.num, a.den * b.den);
}

export function divR(a: Rational, b: Rational): Rational {
  if (b.num === 0n) throw new RangeError("rational: division by zero");
  return rational(a.num * b.den, a.den * b.num);
}

export function compareR(a: Rational, b: Rational): -1 | 0 | 1 {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function minR(a: Rational, b: Rational): Rational {
  return compareR(a, b) <= 0 ? a : b;
}

export function maxR(a: Rational, b: Rational): Rational {
  return compareR(a, b) >= 0 ? a : b;
}

export function isZeroR(a: Rational): boolean {
  return a.num === 0n;
}

export function sumR(values: Iterable<Rational>): Rational {
  let total = ZERO;
  for (const v of values) total = addR(total, v);
  return total;
}

/** Rounds to the nearest integer, ties to the even neighbour (banker's rounding). */
export function roundHalfEven(value: Rational): bigint {
  const { num, den } = value;
  // floor division that works for negatives
  let q = num / den;
  let r = num % den;
  if (r < 0n) {
    q -= 1n;
    r += den;
  }
  const twice = 2n * r;
  if (twice > den) return q + 1n;
  if (twice < den) return q;
  return q % 2n === 0n ? q : q + 1n;
}

/** Largest integer ≤ value. */
export function floorR(value: Rational): bigint {
  const q = value.num / value.den;
  return value.num % value.den < 0n ? q - 1n : q;
}

const decimalPattern = /^(-?)(\d+)(?:\.(\d+))?$/;

/** Parses a decimal string such as "12.5" exactly; null when it is not a plain decimal. */
export function parseDecimal(text: string): Rational | null {
  const match = decimalPattern.exec(text);
  if (!match) return null;
  const sign = match[1] === "-" ? -1n : 1n;
  const fraction = match[3] ?? "";
  const digits = BigInt(`${match[2] ?? "0"}${fraction}`);
  return rational(sign * digits, 10n ** BigInt(fraction.length));
}

/** Decimal text of a rational rounded half-to-even at `places` decimals, trailing zeros trimmed. */
export function formatDecimal(value: Rational, places = 6): string {
  const scale = 10n ** BigInt(places);
  const scaled = roundHalfEven(mulR(value, rational(scale)));
  const negative = scaled < 0n;
  const abs = negative ? -scaled : scaled;
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(places, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** "num/den" text that keeps a rational exact in JSON. */
export function rationalToString(value: Rational): string {
  return value.den === 1n ? value.num.toString() : `${value.num}/${value.den}`;
}

export function parseRational(text: string): Rational | null {
  const match = /^(-?\d+)(?:\/(\d+))?$/.exec(text);
  if (!match) return null;
  const den = BigInt(match[2] ?? "1");
  if (den === 0n) return null;
  return rational(BigInt(match[1] ?? "0"), den);
}

/** Minor units as decimal text in major units, e.g. 12345n USD → "123.45", 500n JPY → "500". */
export function minorToMajorString(minor: bigint, currency: CurrencyCode): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return minor.toString();
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  return `${negative ? "-" : ""}${abs / scale}.${(abs % scale).toString().padStart(digits, "0")}`;
}

/** Intl takes the amount as a decimal string (never a float), so large amounts keep every digit. */
function formatDecimalAmount(format: Intl.NumberFormat, minor: bigint, currency: CurrencyCode): string {
  // Adapter: the string overload of Intl.NumberFormat#format is typed as StringNumericLiteral.
  return format.format(minorToMajorString(minor, currency) as Intl.StringNumericLiteral);
}

/**
 * Formats minor units for people, e.g. `formatMoney(123456n, "USD")` → "$1,234.56". The locale is
 * explicit (default en-US) so server, browser and PDF show the same text whatever the machine.
 */
export function formatMoney(minor: bigint, currency: CurrencyCode, locale = "en-US"): string {
  const digits = minorUnitDigits(currency);
  const format = new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
  return formatDecimalAmount(format, minor, currency);
}

/** Minor units with the ISO code instead of a symbol, e.g. "USD 1,234.56" (for the PDF's Latin-1 font). */
export function formatMoneyWithCode(minor: bigint, currency: CurrencyCode, locale = "en-US"): string {
  const digits = minorUnitDigits(currency);
  const format = new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const negative = minor < 0n;
  return `${negative ? "-" : ""}${currency} ${formatDecimalAmount(format, negative ? -minor : minor, currency)}`;
}
