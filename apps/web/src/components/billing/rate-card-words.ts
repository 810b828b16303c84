// A rate card in plain words ("first 3 nodes free, then $0.045 per node-hour"), so an owner reads
// what they pay without knowing the card's JSON. Display only: amounts are never computed here.
import type { CurrencyCode, Tiers } from "@stowage/billing";
import { formatUnitPrice } from "./format";

export type PricedUnit = "node-hour" | "GiB-month";

const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function plural(unit: PricedUnit, n: number): string {
  return n === 1 ? unit : `${unit}s`;
}

function priceOf(unitPriceMinor: string, currency: CurrencyCode, unit: PricedUnit): string {
  return Number(unitPriceMinor) === 0 ? "free" : `${formatUnitPrice(unitPriceMinor, currency)} per ${unit}`;
}

/**
 * Graduated tiers: "$0.08 per GiB-month up to 10,240 GiB-months a month, then $0.05 per
 * GiB-month". Each unit is priced by the tier it falls in, so a bound is where the next price
 * starts, not a threshold that reprices everything.
 */
export function tiersInWords(tiers: Tiers, currency: CurrencyCode, unit: PricedUnit): string {
  const [first, ...rest] = tiers;
  if (!first) return "no price";
  if (rest.length === 0) return priceOf(first.unitPriceMinor, currency, unit);
  const parts = tiers.map((tier, i) => {
    const price = priceOf(tier.unitPriceMinor, currency, unit);
    if (tier.upTo === null) return `then ${price}`;
    const bound = `${count.format(tier.upTo)} ${plural(unit, tier.upTo)}`;
    return i === 0 ? `${price} for the first ${bound} a month` : `${price} up to ${bound}`;
  });
  return parts.join(", ");
}

/** "First 3 nodes free, then $0.045 per node-hour": the allowance is nodes × the hours of the month. */
export function nodePriceInWords(freeNodes: number, tiers: Tiers, currency: CurrencyCode): string {
  const price = tiersInWords(tiers, currency, "node-hour");
  if (freeNodes === 0) return capitalize(price);
  const free = `First ${count.format(freeNodes)} ${freeNodes === 1 ? "node" : "nodes"} free`;
  return price === "free" ? `${free}; the rest free too` : `${free}, then ${price}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
