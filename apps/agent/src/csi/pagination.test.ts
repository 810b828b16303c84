import { describe, expect, it } from "vitest";
import { CsiError } from "./errors";
import { paginate } from "./pagination";

describe("pagination", () => {
  const items = ["a", "b", "c", "d", "e"];

  it("walks the list page by page with the tokens it gives", () => {
    const p1 = paginate(items, 2, "");
    expect(p1).toEqual({ items: ["a", "b"], nextToken: "2" });
    const p2 = paginate(items, 2, p1.nextToken);
    expect(p2).toEqual({ items: ["c", "d"], nextToken: "4" });
    expect(paginate(items, 2, p2.nextToken)).toEqual({ items: ["e"], nextToken: "" });
    expect(paginate(items, 0, "")).toEqual({ items, nextToken: "" });
  });

  it("aborts on a token it could not have given", () => {
    for (const token of ["x", "-1", "6", "1.5"]) {
      expect(() => paginate(items, 2, token)).toThrow(CsiError);
    }
  });
});
