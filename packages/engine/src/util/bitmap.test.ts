import { describe, expect, it } from "vitest";
import { allSet, anySet, clearBits, countBits, isEmpty, setBits, testBit } from "./bitmap";

describe("bitmap helpers", () => {
  it("sets, clears and tests ranges across byte boundaries, LSB first", () => {
    const bits = new Uint8Array(4);
    setBits(bits, 3, 13);
    expect([...bits]).toEqual([0xf8, 0x1f, 0, 0]);
    expect(testBit(bits, 2)).toBe(false);
    expect(testBit(bits, 3)).toBe(true);
    expect(testBit(bits, 12)).toBe(true);
    expect(testBit(bits, 13)).toBe(false);
    clearBits(bits, 8, 10);
    expect([...bits]).toEqual([0xf8, 0x1c, 0, 0]);
  });

  it("answers any, all, empty and count over ranges", () => {
    const bits = new Uint8Array(4);
    expect(isEmpty(bits)).toBe(true);
    expect(anySet(bits, 0, 32)).toBe(false);
    expect(countBits(bits)).toBe(0);
    setBits(bits, 10, 20);
    expect(isEmpty(bits)).toBe(false);
    expect(anySet(bits, 0, 10)).toBe(false);
    expect(anySet(bits, 0, 11)).toBe(true);
    expect(anySet(bits, 19, 32)).toBe(true);
    expect(anySet(bits, 20, 32)).toBe(false);
    expect(allSet(bits, 10, 20)).toBe(true);
    expect(allSet(bits, 9, 20)).toBe(false);
    expect(allSet(bits, 10, 21)).toBe(false);
    expect(countBits(bits)).toBe(10);
    setBits(bits, 0, 32);
    expect(countBits(bits)).toBe(32);
  });
});
