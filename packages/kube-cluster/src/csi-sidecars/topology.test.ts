import { describe, expect, it } from "vitest";
import { rotatedPreferred } from "./topology";

describe("rotatedPreferred", () => {
  const nodes = ["a", "b", "c"];

  it("is a rotation of the requisite, the same for the same name", () => {
    for (const name of ["pvc-1", "pvc-2", "pvc-xyz"]) {
      const p = rotatedPreferred(nodes, name);
      const start = nodes.indexOf(p[0] ?? "");
      expect(p).toEqual([...nodes.slice(start), ...nodes.slice(0, start)]);
      expect(rotatedPreferred(nodes, name)).toEqual(p);
    }
  });

  it("spreads names over every starting place", () => {
    const firsts = new Set(Array.from({ length: 30 }, (_, i) => rotatedPreferred(nodes, `pvc-${i}`)[0]));
    expect([...firsts].sort()).toEqual(nodes);
  });

  it("is empty for no topology", () => {
    expect(rotatedPreferred([], "pvc-1")).toEqual([]);
  });
});
