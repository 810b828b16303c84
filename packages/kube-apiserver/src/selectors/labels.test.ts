import { describe, expect, it } from "vitest";
import { ApiError } from "../status";
import { labelsMatch, parseLabelSelector } from "./labels";

describe("label selectors", () => {
  it("supports =, ==, !=, in, notin, exists and !key", () => {
    const labels = { app: "demo", tier: "web" };
    const cases: Array<[string, boolean]> = [["app=demo", true], ["app==demo", true], ["tier!=db", true], ["app in (demo,other),!missing", true], ["tier notin (web)", false], ["app", true], ["!app", false], ["app=", false], ["", true]];
    for (const [selector, expected] of cases) expect(labelsMatch(parseLabelSelector(selector), labels), selector).toBe(expected);
  });

  it("rejects malformed selectors with the server's message", () => {
    expect(() => parseLabelSelector("a b")).toThrow(ApiError);
    try {
      parseLabelSelector("a b");
    } catch (err) {
      expect((err as ApiError).message).toBe("unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
      expect((err as ApiError).code).toBe(400);
    }
  });
});
