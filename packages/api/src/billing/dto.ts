/**
 * What the billing procedures return, as plain JSON: money as decimal strings of integer minor
 * units (bigint does not survive JSON), exact quantities as decimal strings, months as "YYYY-MM"
 * (UTC), instants as ISO strings.
 */
import { BILLING_UNITS, CURRENCY_CODES } from "@stowage/billing";
import { z } from "zod";
import { isoDate } from "../dto/common";

export const minorSchema = z
  .string()
  .regex(/^-?\d+$/)
  .meta({ description: "Integer amount in minor units of the currency (cents for USD), as a decimal string", example: "12345" });
export const quantitySchema = z
  .string()
  .regex(/^\d+(\.\d+)?$/)
  .meta({ description: "Exact quantity as a decimal string (rounded to 6 places for display)", example: "730.5" });
export const monthKeySchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "expected a month as YYYY-MM")
  .meta({ description: "Calendar month in UTC, YYYY-MM", example: "2026-11" });
export const billingUnitSchema = z.enum(BILLING_UNITS).meta({ description: "node_hour, provisioned_gib_hour, replicated_gib_hour or protected_gib_hour" });
export const currencyCodeSchema = z.enum(CURRENCY_CODES).meta({ description: "ISO 4217 currency code" });
export const invoiceStatusSchema = z.enum(["draft", "finalized", "paid", "void"]);
export type InvoiceStatus = z.infer<typeof invoiceStatusSchema>;

export const moneyTotalsSchema = z.object({ subtotalMinor: minorSchema, taxMinor: minorSchema, totalMinor: minorSchema });

export const invoiceLineSchema = z
  .object({
    kind: z.enum(["usage", "adjustment", "minimum_commitment"]),
    clusterId: z.string().nullable(),
    clusterName: z.string().nullable(),
    unit: billingUnitSchema.nullable(),
    nodeClass: z.string().nullable().meta({ description: "Node class of a node_hour line (\"\" when the agent reports none)" }),
    /** For adjustments: the finalized month whose late usage this line bills. */
    adjustsMonth: monthKeySchema.nullable(),
    quantity: quantitySchema,
    unitLabel: z.string(),
    unitPriceMinor: z.string().nullable().meta({ description: "Average price per hour (node_hour) or per GiB-month (capacity), decimal minor units" }),
    priceUnit: z.enum(["hour", "gib_month"]).nullable(),
    amountMinor: minorSchema,
    description: z.string(),
  })
  .meta({ id: "BillingInvoiceLine" });
export type InvoiceLineDto = z.infer<typeof invoiceLineSchema>;

export const invoiceSummarySchema = z
  .object({
    id: z.string().meta({ description: "The invoice id; a live draft's id is draft-YYYY-MM" }),
    number: z.string().nullable().meta({ description: "INV-000001…, assigned at finalization; null on drafts" }),
    month: monthKeySchema,
    status: invoiceStatusSchema,
    currency: currencyCodeSchema,
    ...moneyTotalsSchema.shape,
    finalizedAt: isoDate.nullable(),
    contentHash: z.string().nullable().meta({ description: "sha256 of the canonical invoice content, fixed at finalization" }),
  })
  .meta({ id: "BillingInvoiceSummary" });
export type InvoiceSummaryDto = z.infer<typeof invoiceSummarySchema>;

export const invoiceDetailSchema = invoiceSummarySchema
  .extend({
    periodStart: isoDate,
    periodEnd: isoDate,
    taxRateBasisPoints: z.number().int(),
    lines: z.array(invoiceLineSchema),
    roundingRule: z.string(),
  })
  .meta({ id: "BillingInvoice" });
export type InvoiceDetailDto = z.infer<typeof invoiceDetailSchema>;

export const clusterPeriodSchema = z.object({
  clusterId: z.string(),
  clusterName: z.string(),
  monthToDateMinor: minorSchema,
  forecastMinor: minorSchema,
  nodeHours: quantitySchema,
  provisionedGibHours: quantitySchema,
  replicatedGibHours: quantitySchema,
});

export const currentPeriodSchema = z
  .object({
    month: monthKeySchema,
    currency: currencyCodeSchema,
    asOf: isoDate,
    hoursElapsed: z.number().int(),
    hoursInMonth: z.number().int(),
    monthToDate: moneyTotalsSchema,
    forecast: moneyTotalsSchema.meta({ description: "Month to date plus the run rate of the last 24 complete hours with telemetry times the hours left" }),
    clusters: z.array(clusterPeriodSchema),
  })
  .meta({ id: "BillingCurrentPeriod" });
export type CurrentPeriodDto = z.infer<typeof currentPeriodSchema>;

export const usagePointSchema = z.object({ at: isoDate, clusterId: z.string(), unit: billingUnitSchema, quantity: quantitySchema });
export const usageSchema = z
  .object({ granularity: z.enum(["hour", "day"]), from: isoDate, to: isoDate, points: z.array(usagePointSchema) })
  .meta({ id: "BillingUsage" });
export type UsageDto = z.infer<typeof usageSchema>;

export const explainNodeSchema = z.object({
  nodeId: z.string(),
  nodeClasses: z.array(z.string()),
  billedHours: z.array(z.number().int()).meta({ description: "Hour indexes from the month start billed for this node" }),
  excludedHours: z.array(z.number().int()).meta({ description: "Hours with telemetry that an exclusion keeps off the bill" }),
  notBilledHours: z.array(z.number().int()).meta({ description: "Hours without telemetry from this node: not billed" }),
});
export const explainHourSchema = z.object({
  hour: z.number().int(),
  at: isoDate,
  billed: z.boolean().meta({ description: "false: no telemetry in this hour, nothing billed" }),
  quantity: quantitySchema,
  coveredMinutes: z.number().int().meta({ description: "Capacity units: minutes with a report (the rest are not billed)" }),
  nodes: z.number().int().meta({ description: "Node-hours: nodes billed in this hour" }),
});
export const explainLineSchema = z
  .object({
    month: monthKeySchema,
    clusterId: z.string(),
    clusterName: z.string(),
    unit: billingUnitSchema,
    nodeClass: z.string().nullable(),
    quantity: quantitySchema,
    hoursWithoutTelemetry: z.array(z.number().int()).meta({ description: "Hours in which nothing of this cluster reported: not billed" }),
    hours: z.array(explainHourSchema),
    nodes: z.array(explainNodeSchema),
  })
  .meta({ id: "BillingLineExplanation" });
export type ExplainLineDto = z.infer<typeof explainLineSchema>;

export const showbackSchema = z
  .object({
    month: monthKeySchema,
    clusterId: z.string(),
    clusterName: z.string(),
    currency: currencyCodeSchema,
    totalMinor: minorSchema,
    namespaces: z.array(z.object({ namespace: z.string(), amountMinor: minorSchema, weightGibHours: quantitySchema })),
  })
  .meta({ id: "BillingShowback" });
export type ShowbackDto = z.infer<typeof showbackSchema>;

export const budgetSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    amountMinor: minorSchema,
    thresholds: z.array(z.number().int()),
    currency: currencyCodeSchema,
    actualMinor: minorSchema.meta({ description: "This month's total so far" }),
    forecastMinor: minorSchema.meta({ description: "This month's forecast total" }),
    crossedActual: z.array(z.number().int()),
    crossedForecast: z.array(z.number().int()),
    createdAt: isoDate,
    updatedAt: isoDate,
  })
  .meta({ id: "BillingBudget" });
export type BudgetDto = z.infer<typeof budgetSchema>;

export const rateCardDtoSchema = z
  .object({
    id: z.uuid(),
    effectiveFrom: monthKeySchema,
    effectiveTo: monthKeySchema.nullable().meta({ description: "First month no longer covered; null: open-ended" }),
    currency: currencyCodeSchema,
    card: z.record(z.string(), z.unknown()).meta({ description: "The rate card as created (rateCardSchema of @stowage/billing)" }),
    createdAt: isoDate,
  })
  .meta({ id: "BillingRateCard" });
export type RateCardDto = z.infer<typeof rateCardDtoSchema>;

export const settingsSchema = z
  .object({ currency: currencyCodeSchema, taxRateBasisPoints: z.number().int(), gracePeriodMinutes: z.number().int() })
  .meta({ id: "BillingSettings" });
export type SettingsDto = z.infer<typeof settingsSchema>;

export const nodeExclusionSchema = z
  .object({ id: z.uuid(), clusterId: z.uuid(), nodeId: z.string(), from: isoDate, to: isoDate.nullable(), reason: z.string(), createdAt: isoDate })
  .meta({ id: "BillingNodeExclusion" });
export type NodeExclusionDto = z.infer<typeof nodeExclusionSchema>;
