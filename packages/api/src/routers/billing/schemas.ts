/** Inputs shared by the billing procedures. */
import { z } from "zod";
import { billingUnitSchema, minorSchema, monthKeySchema } from "../../billing/dto";

export { billingUnitSchema, monthKeySchema };

/** A stored invoice's uuid, or draft-YYYY-MM for a month's live draft. */
export const invoiceId = z
  .string()
  .regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|draft-\d{4}-(0[1-9]|1[0-2]))$/i, "expected an invoice id (uuid) or draft-YYYY-MM")
  .meta({ description: "Invoice id, or draft-YYYY-MM for a month's live draft", example: "draft-2026-12" });

export const clusterId = z.uuid().meta({ description: "Cluster id" });

/** A budget amount: integer minor units, more than zero. */
export const budgetAmount = minorSchema.refine((v) => BigInt(v) > 0n, "must be more than zero");

export const budgetThresholds = z
  .array(z.number().int().min(1).max(1000))
  .min(1)
  .max(10)
  .refine((t) => new Set(t).size === t.length, "thresholds must be distinct")
  .meta({ description: "Percentages of the amount (1..1000) that raise an alert when crossed, on the actual total and on the forecast", example: [50, 80, 100] });

export const budgetName = z.string().trim().min(1).max(100);
