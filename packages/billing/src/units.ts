// The billing vocabulary: every other module (and the ledger, API and portal) imports the unit
// names and conversion constants from here, so a unit is defined exactly once.
import { z } from "zod";

/** Billable units, in the order lines are listed on an invoice. */
export const BILLING_UNITS = ["node_hour", "provisioned_gib_hour", "replicated_gib_hour", "protected_gib_hour"] as const;
export type BillingUnit = (typeof BILLING_UNITS)[number];
export const billingUnitSchema = z.enum(BILLING_UNITS);

/** Capacity units are metered in GiB-hours but priced per GiB-month; node-hours are priced per hour. */
export type PriceUnit = "hour" | "gib_month";

export const UNIT_LABELS: Record<BillingUnit, string> = {
  node_hour: "Node-hours",
  provisioned_gib_hour: "Provisioned GiB-hours",
  replicated_gib_hour: "Replicated GiB-hours",
  protected_gib_hour: "Protected GiB-hours",
};

export function priceUnitOf(unit: BillingUnit): PriceUnit {
  return unit === "node_hour" ? "hour" : "gib_month";
}

/** GiB = 2^30 bytes, everywhere (never 10^9). */
export const BYTES_PER_GIB = 1n << 30n;
/** The written rule: 1 GiB-month = 730 GiB-hours, whatever the month's length. */
export const GIB_HOURS_PER_GIB_MONTH = 730n;
export const MINUTES_PER_HOUR = 60;
/** 31 days × 24 h: the longest month, so every month's hour bitmap has the same size. */
export const MAX_HOURS_IN_MONTH = 744;
/** The name of the showback row that receives capacity no claim accounts for. */
export const UNALLOCATED_NAMESPACE = "(unallocated)";

/** A label for a unit name in human text (PDF, UI); unknown names are shown as they are. */
export function unitLabel(unit: string): string {
  const parsed = billingUnitSchema.safeParse(unit);
  return parsed.success ? UNIT_LABELS[parsed.data] : unit;
}
