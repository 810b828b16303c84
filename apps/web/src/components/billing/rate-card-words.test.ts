import { describe, expect, it } from "vitest";
import { nodePriceInWords, tiersInWords } from "./rate-card-words";

describe("rate card in words", () => {
  it("says a single price, graduated tiers and the free allowance plainly", () => {
    expect(nodePriceInWords(3, [{ upTo: null, unitPriceMinor: "12" }], "USD")).toBe("First 3 nodes free, then $0.12 per node-hour");
    expect(nodePriceInWords(0, [{ upTo: null, unitPriceMinor: "4.5" }], "USD")).toBe("$0.045 per node-hour");
    expect(nodePriceInWords(1, [{ upTo: null, unitPriceMinor: "0" }], "USD")).toBe("First 1 node free; the rest free too");
    expect(
      tiersInWords(
        [
          { upTo: 10_240, unitPriceMinor: "8" },
          { upTo: 20_000, unitPriceMinor: "6" },
          { upTo: null, unitPriceMinor: "5" },
        ],
        "USD",
        "GiB-month",
      ),
    ).toBe("$0.08 per GiB-month for the first 10,240 GiB-months a month, $0.06 per GiB-month up to 20,000 GiB-months, then $0.05 per GiB-month");
    expect(tiersInWords([{ upTo: null, unitPriceMinor: "500" }], "JPY", "GiB-month")).toBe("¥500 per GiB-month");
  });
});
