import { describe, expect, it } from "vitest";
import { hourRuns } from "./hour-ranges";

describe("hourRuns", () => {
  it("joins consecutive hours and keeps gaps apart, whatever the input order", () => {
    expect(hourRuns([9, 3, 5, 4])).toEqual([
      [3, 5],
      [9, 9],
    ]);
  });
  it("counts a repeated hour once", () => {
    expect(hourRuns([2, 2, 3])).toEqual([[2, 3]]);
  });
  it("is empty for no hours", () => {
    expect(hourRuns([])).toEqual([]);
  });
});
