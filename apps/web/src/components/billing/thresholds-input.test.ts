import { describe, expect, it } from "vitest";
import { parseThresholds } from "./thresholds-input";

describe("budget thresholds input", () => {
  it("reads thresholds separated by commas, spaces or percent signs", () => {
    expect(parseThresholds("50, 80 100%")).toEqual([50, 80, 100]);
    expect(parseThresholds("50, x")).toBeNull();
    expect(parseThresholds("  ")).toBeNull();
  });
});
