import { rateCardSchema, type CurrencyCode, type RateCard } from "@stowage/billing";

/**
 * The demo rate card: what a new organization is billed with until it stores its own (it covers
 * every month no stored card covers). Prices in minor units of the organization's currency:
 * 4.5 per node-hour after the first 3 nodes, 8 per provisioned GiB-month (5 beyond 10 TiB),
 * 4 per replicated GiB-month.
 */
export function defaultRateCardJson(currency: CurrencyCode) {
  return {
    currency,
    effectiveFrom: "1970-01-01T00:00:00.000Z",
    effectiveTo: null,
    nodeHour: { default: [{ upTo: null, unitPriceMinor: "4.5" }] },
    provisionedGibMonth: [
      { upTo: 10_240, unitPriceMinor: "8" },
      { upTo: null, unitPriceMinor: "5" },
    ],
    replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4" }],
    freeNodes: 3,
    taxRateBasisPoints: 0,
  };
}

export function defaultRateCard(currency: CurrencyCode): RateCard {
  return rateCardSchema.parse(defaultRateCardJson(currency));
}
