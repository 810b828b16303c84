import { describe, expect, it } from "vitest";
import { majorToMinor, minorToMajor } from "./money-input";

describe("money input: prices", () => {
  it("turns major-unit prices into decimal minor units exactly, keeping the sign for the API to refuse", () => {
    expect(majorToMinor("0.045", "USD", "price")).toBe("4.5");
    expect(majorToMinor("0.12", "USD", "price")).toBe("12");
    expect(majorToMinor("1,250.5", "USD", "price")).toBe("125050");
    expect(majorToMinor(".5", "USD", "price")).toBe("50");
    expect(majorToMinor("0.00000001", "USD", "price")).toBe("0.000001");
    expect(majorToMinor("3", "JPY", "price")).toBe("3");
    expect(majorToMinor("0.0005", "KWD", "price")).toBe("0.5");
    expect(majorToMinor("-0.12", "USD", "price")).toBe("-12");
    expect(majorToMinor("-0", "USD", "price")).toBe("0");
    for (const bad of ["", "-", ".", "abc", "1.2.3", "1e3"]) expect(majorToMinor(bad, "USD", "price"), bad).toBeNull();
  });

  it("shows stored minor prices in major units", () => {
    expect(minorToMajor("4.5", "USD", "price")).toBe("0.045");
    expect(minorToMajor("12", "USD", "price")).toBe("0.12");
    expect(minorToMajor("125050", "USD", "price")).toBe("1250.5");
    expect(minorToMajor("0", "USD", "price")).toBe("0");
    expect(minorToMajor("7", "JPY", "price")).toBe("7");
    for (const price of ["0.045", "0.12", "1250.5", "0.000001"]) expect(minorToMajor(majorToMinor(price, "USD", "price") ?? "", "USD", "price")).toBe(price);
  });
});

describe("money input: budget amounts", () => {
  it("turns a typed amount into exact minor units", () => {
    expect(majorToMinor("1,250.5", "USD", "amount")).toBe("125050");
    expect(majorToMinor("0.07", "USD", "amount")).toBe("7");
    expect(majorToMinor("99999999999999999.99", "USD", "amount")).toBe("9999999999999999999");
    expect(majorToMinor("1200", "JPY", "amount")).toBe("1200");
    expect(majorToMinor("12.", "USD", "amount")).toBe("1200");
  });

  it("refuses text that is not an amount in the currency, and passes zero on for the API to judge", () => {
    expect(majorToMinor("1.234", "USD", "amount")).toBeNull();
    expect(majorToMinor("12.5", "JPY", "amount")).toBeNull();
    expect(majorToMinor("-3", "USD", "amount")).toBeNull();
    expect(majorToMinor(".5", "USD", "amount")).toBeNull();
    expect(majorToMinor("ten", "USD", "amount")).toBeNull();
    expect(majorToMinor("0", "USD", "amount")).toBe("0");
  });

  it("round-trips minor units to editable text with the currency's decimals", () => {
    expect(minorToMajor("125050", "USD", "amount")).toBe("1250.50");
    expect(minorToMajor("7", "USD", "amount")).toBe("0.07");
    expect(minorToMajor("1200", "JPY", "amount")).toBe("1200");
    expect(majorToMinor(minorToMajor("7", "USD", "amount"), "USD", "amount")).toBe("7");
  });
});
