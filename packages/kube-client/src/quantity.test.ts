import { describe, expect, it } from "vitest";
import { bytesToQuantity, parseQuantity, quantityToBytes } from "./quantity";

describe("quantities", () => {
  it("reads every form the API server keeps as written", () => {
    expect(quantityToBytes("10Gi")).toBe(10 * 2 ** 30);
    expect(quantityToBytes("500M")).toBe(500e6);
    expect(quantityToBytes("1.5e9")).toBe(1.5e9);
    expect(quantityToBytes("1024")).toBe(1024);
    expect(quantityToBytes(" 1Ki ")).toBe(1024);
    expect(parseQuantity("250m")).toBe(0.25);
    expect(parseQuantity(3)).toBe(3);
    expect(parseQuantity(undefined)).toBeUndefined();
  });

  it.each([
    ["1024", 1024],
    ["10Gi", 10 * 2 ** 30],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["500M", 500e6],
    ["1e9", 1e9],
    ["2k", 2000],
    ["1500m", 2],
  ])("%s is %d bytes", (q, bytes) => expect(quantityToBytes(q)).toBe(bytes));

  it.each(["", "ten", "10GB", "-1Gi", "1Yi"])("refuses %j", (q) => expect(() => quantityToBytes(q)).toThrow(/quantity|byte count/));

  it("rounds fractional bytes up, as the API server's Value() does", () => {
    expect(quantityToBytes("1.5")).toBe(2);
    expect(quantityToBytes("0.1Ki")).toBe(103);
  });

  it("refuses what is not a byte count, naming the value", () => {
    expect(parseQuantity("ten")).toBeUndefined();
    expect(() => quantityToBytes("10 GB")).toThrow(/"10 GB" is not a Kubernetes quantity/);
    expect(() => quantityToBytes("-1Gi")).toThrow(/"-1Gi" is not a byte count/);
    expect(() => quantityToBytes("16Ei")).toThrow(/"16Ei" is not a byte count/);
  });

  it("prints bytes in the canonical binary form", () => {
    expect(bytesToQuantity(10 * 2 ** 30)).toBe("10Gi");
    expect(bytesToQuantity(1536 * 2 ** 20)).toBe("1536Mi");
    expect(bytesToQuantity(1000)).toBe("1000");
    expect(bytesToQuantity(0)).toBe("0");
  });
});
