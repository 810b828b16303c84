// Invoice content: what a finalized invoice freezes and hashes. Status and number live beside the
// content (status changes after finalization; the number is assigned at finalization), so the
// content hash never depends on them.
import { z } from "zod";
import { type CurrencyCode, currencySchema } from "./currency";
import { compareText } from "./metering";
import { ROUNDING_RULE, type Rational, formatDecimal, parseRational, rationalToString } from "./money";
import { type AdjustmentRating, type MonthRating, type RatedLine, taxOf } from "./rating";
import { isoUtc, monthKey, nextMonthStart } from "./time";
import { BILLING_UNITS, type BillingUnit, type PriceUnit, billingUnitSchema } from "./units";

export const INVOICE_STATUSES = ["draft", "finalized", "paid", "void"] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

interface LineBase {
  clusterId: string;
  clusterName: string;
  unit: BillingUnit;
  nodeClass: string | null;
  /** Exact quantity in the unit (hours or GiB-hours). */
  quantity: Rational;
  unitPriceMinor: string;
  priceUnit: PriceUnit;
  amountMinor: bigint;
}

export interface UsageInvoiceLine extends LineBase {
  kind: "usage";
}

/** Late usage of an earlier, finalized month ("YYYY-MM"), billed on this invoice. */
export interface AdjustmentInvoiceLine extends LineBase {
  kind: "adjustment";
  forMonth: string;
}

/** The minimum-commitment shortfall of `forMonth`; negative on an adjustment when late usage uses it up. */
export interface CommitmentInvoiceLine {
  kind: "minimum_commitment";
  forMonth: string;
  amountMinor: bigint;
}

export type InvoiceLine = UsageInvoiceLine | AdjustmentInvoiceLine | CommitmentInvoiceLine;

export interface InvoiceContent {
  /** Bumped when the shape changes so old hashes stay verifiable. */
  version: 1;
  organizationId: string;
  organizationName: string;
  currency: CurrencyCode;
  /** "YYYY-MM" of the invoiced month. */
  month: string;
  /** ISO-8601 UTC bounds of the period, [from, to). */
  periodFrom: string;
  periodTo: string;
  lines: InvoiceLine[];
  /** Σ line amounts. */
  subtotalMinor: bigint;
  taxRateBasisPoints: number;
  /** subtotal × rate, rounded once half-to-even. */
  taxMinor: bigint;
  /** subtotal + tax. */
  totalMinor: bigint;
  roundingRule: string;
}

export interface ComposeInvoiceInput {
  organizationId: string;
  organizationName: string;
  rating: MonthRating;
  /** Late usage of earlier finalized months to bill on this invoice. */
  adjustments?: readonly AdjustmentRating[];
  /** Display names by cluster id (falls back to the id). */
  clusterNames?: Readonly<Record<string, string>>;
  /** The organization's tax rate; defaults to the rate the month was rated with. */
  taxRateBasisPoints?: number;
}

const KIND_ORDER: Record<InvoiceLine["kind"], number> = { usage: 0, minimum_commitment: 1, adjustment: 2 };

/** The canonical order of lines: the same content always lists (and hashes) the same way. */
export function compareInvoiceLines(a: InvoiceLine, b: InvoiceLine): number {
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  const byMonth = compareText(a.kind === "usage" ? "" : a.forMonth, b.kind === "usage" ? "" : b.forMonth);
  if (byMonth !== 0 || a.kind === "minimum_commitment" || b.kind === "minimum_commitment") return byMonth;
  return (
    compareText(a.clusterName, b.clusterName) ||
    compareText(a.clusterId, b.clusterId) ||
    BILLING_UNITS.indexOf(a.unit) - BILLING_UNITS.indexOf(b.unit) ||
    compareText(a.nodeClass ?? "", b.nodeClass ?? "")
  );
}

function lineBase(line: RatedLine, clusterNames: Readonly<Record<string, string>>): LineBase {
  return {
    clusterId: line.clusterId,
    clusterName: clusterNames[line.clusterId] ?? line.clusterId,
    unit: line.unit,
    nodeClass: line.nodeClass,
    quantity: line.quantity,
    unitPriceMinor: line.unitPriceMinor,
    priceUnit: line.priceUnit,
    amountMinor: line.amountMinor,
  };
}

/** Builds an invoice's content: lines per cluster and unit, adjustments, subtotal, tax, total. */
export function composeInvoice(input: ComposeInvoiceInput): InvoiceContent {
  const names = input.clusterNames ?? {};
  const { rating } = input;
  const month = monthKey(rating.monthStartMs);
  const lines: InvoiceLine[] = rating.lines.map((line) => ({ kind: "usage", ...lineBase(line, names) }));
  if (rating.commitmentShortfallMinor > 0n) lines.push({ kind: "minimum_commitment", forMonth: month, amountMinor: rating.commitmentShortfallMinor });
  for (const adjustment of input.adjustments ?? []) {
    const forMonth = monthKey(adjustment.forMonthStartMs);
    for (const line of adjustment.lines) lines.push({ kind: "adjustment", forMonth, ...lineBase(line, names) });
    if (adjustment.commitmentChangeMinor !== 0n) lines.push({ kind: "minimum_commitment", forMonth, amountMinor: adjustment.commitmentChangeMinor });
  }
  lines.sort(compareInvoiceLines);
  const subtotalMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0n);
  const taxRateBasisPoints = input.taxRateBasisPoints ?? rating.taxRateBasisPoints;
  const taxMinor = taxOf(subtotalMinor, taxRateBasisPoints);
  return {
    version: 1,
    organizationId: input.organizationId,
    organizationName: input.organizationName,
    currency: rating.currency,
    month,
    periodFrom: isoUtc(rating.monthStartMs),
    periodTo: isoUtc(nextMonthStart(rating.monthStartMs)),
    lines,
    subtotalMinor,
    taxRateBasisPoints,
    taxMinor,
    totalMinor: subtotalMinor + taxMinor,
    roundingRule: ROUNDING_RULE,
  };
}

/** Invoice numbers of an organization's gap-free sequence: 1 → "INV-000001". */
export function formatInvoiceNumber(sequence: number | bigint): string {
  const n = BigInt(sequence);
  if (n < 1n) throw new RangeError("invoice sequence numbers start at 1");
  return `INV-${n.toString().padStart(6, "0")}`;
}

export function parseInvoiceNumber(text: string): bigint | null {
  const match = /^INV-(\d{6,})$/.exec(text);
  return match?.[1] === undefined ? null : BigInt(match[1]);
}

/** Human text of a line's quantity, e.g. "1,234.5 GiB-hours"-style without grouping: "1234.5". */
export function formatQuantity(quantity: Rational): string {
  return formatDecimal(quantity, 3);
}

// ---- JSON form: bigint → decimal string, Rational → "num/den". Used for storage (jsonb), the
// API and the canonical hash; `invoiceContentSchema` reads it back at every boundary.

const minorString = z.string().regex(/^-?\d+$/, "must be whole minor units as a string");
const rationalString = z.string().refine((s) => parseRational(s) !== null, "must be an exact quantity \"num/den\"");

const lineBaseJson = {
  clusterId: z.string(),
  clusterName: z.string(),
  unit: billingUnitSchema,
  nodeClass: z.string().nullable(),
  quantity: rationalString,
  unitPriceMinor: z.string(),
  priceUnit: z.enum(["hour", "gib_month"]),
  amountMinor: minorString,
};

export const invoiceLineJsonSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("usage"), ...lineBaseJson }),
  z.object({ kind: z.literal("adjustment"), forMonth: z.string(), ...lineBaseJson }),
  z.object({ kind: z.literal("minimum_commitment"), forMonth: z.string(), amountMinor: minorString }),
]);

export const invoiceContentJsonSchema = z.object({
  version: z.literal(1),
  organizationId: z.string(),
  organizationName: z.string(),
  currency: currencySchema,
  month: z.string(),
  periodFrom: z.string(),
  periodTo: z.string(),
  lines: z.array(invoiceLineJsonSchema),
  subtotalMinor: minorString,
  taxRateBasisPoints: z.number().int(),
  taxMinor: minorString,
  totalMinor: minorString,
  roundingRule: z.string(),
});
export type InvoiceContentJson = z.output<typeof invoiceContentJsonSchema>;
export type InvoiceLineJson = z.output<typeof invoiceLineJsonSchema>;

function lineToJson(line: InvoiceLine): InvoiceLineJson {
  if (line.kind === "minimum_commitment") return { kind: line.kind, forMonth: line.forMonth, amountMinor: line.amountMinor.toString() };
  const base = {
    clusterId: line.clusterId,
    clusterName: line.clusterName,
    unit: line.unit,
    nodeClass: line.nodeClass,
    quantity: rationalToString(line.quantity),
    unitPriceMinor: line.unitPriceMinor,
    priceUnit: line.priceUnit,
    amountMinor: line.amountMinor.toString(),
  };
  return line.kind === "usage" ? { kind: "usage", ...base } : { kind: "adjustment", forMonth: line.forMonth, ...base };
}

export function invoiceContentToJson(content: InvoiceContent): InvoiceContentJson {
  return {
    version: content.version,
    organizationId: content.organizationId,
    organizationName: content.organizationName,
    currency: content.currency,
    month: content.month,
    periodFrom: content.periodFrom,
    periodTo: content.periodTo,
    lines: content.lines.map(lineToJson),
    subtotalMinor: content.subtotalMinor.toString(),
    taxRateBasisPoints: content.taxRateBasisPoints,
    taxMinor: content.taxMinor.toString(),
    totalMinor: content.totalMinor.toString(),
    roundingRule: content.roundingRule,
  };
}

function lineFromJson(line: InvoiceLineJson): InvoiceLine {
  if (line.kind === "minimum_commitment") return { kind: line.kind, forMonth: line.forMonth, amountMinor: BigInt(line.amountMinor) };
  const base: LineBase = {
    clusterId: line.clusterId,
    clusterName: line.clusterName,
    unit: line.unit,
    nodeClass: line.nodeClass,
    quantity: parseRational(line.quantity) ?? { num: 0n, den: 1n },
    unitPriceMinor: line.unitPriceMinor,
    priceUnit: line.priceUnit,
    amountMinor: BigInt(line.amountMinor),
  };
  return line.kind === "usage" ? { kind: "usage", ...base } : { kind: "adjustment", forMonth: line.forMonth, ...base };
}

/** Reads stored or received invoice JSON (validated); throws a ZodError naming the field. */
export function invoiceContentFromJson(json: unknown): InvoiceContent {
  const parsed = invoiceContentJsonSchema.parse(json);
  return {
    ...parsed,
    lines: parsed.lines.map(lineFromJson),
    subtotalMinor: BigInt(parsed.subtotalMinor),
    taxMinor: BigInt(parsed.taxMinor),
    totalMinor: BigInt(parsed.totalMinor),
  };
}

function canonicalize(value: unknown): string {
  if (value === null || typeof value === "number" || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareText(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(",")}}`;
  }
  throw new TypeError(`cannot canonicalize a ${typeof value}`);
}

/**
 * Canonical JSON of the content: keys sorted by code unit, no whitespace, bigints as strings,
 * lines in canonical order. Identical content always gives identical bytes (the hash input).
 */
export function canonicalInvoiceJson(content: InvoiceContent): string {
  const json = invoiceContentToJson({ ...content, lines: [...content.lines].sort(compareInvoiceLines) });
  return canonicalize(json);
}
