import { describe, expect, it } from "vitest";
import { DEFAULT_VOLUME_SIZE, sizeFits, sizeFromRange } from "./capacity";
import { CsiError } from "./errors";

const code = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (err) {
    if (err instanceof CsiError) return err.code;
  }
  return undefined;
};

describe("capacity ranges", () => {
  it("rounds required bytes up to whole 4 KiB blocks", () => {
    expect(sizeFromRange({ requiredBytes: 1, limitBytes: 0 })).toBe(4096);
    expect(sizeFromRange({ requiredBytes: 8192, limitBytes: 8192 })).toBe(8192);
    expect(sizeFromRange({ requiredBytes: 8193, limitBytes: 0 })).toBe(12288);
  });

  it("uses the default size, capped by a limit, when nothing is required", () => {
    expect(sizeFromRange(null)).toBe(DEFAULT_VOLUME_SIZE);
    expect(sizeFromRange({ requiredBytes: 0, limitBytes: 10_000 })).toBe(8192);
  });

  it("is OUT_OF_RANGE when no whole-block size fits and INVALID_ARGUMENT when the range is inverted", () => {
    expect(code(() => sizeFromRange({ requiredBytes: 0, limitBytes: 4095 }))).toBe(11);
    expect(code(() => sizeFromRange({ requiredBytes: 5000, limitBytes: 6000 }))).toBe(11);
    expect(code(() => sizeFromRange({ requiredBytes: 9000, limitBytes: 8000 }))).toBe(3);
  });

  it("tells whether an existing size satisfies a range", () => {
    expect(sizeFits(8192, { requiredBytes: 8000, limitBytes: 0 })).toBe(true);
    expect(sizeFits(8192, { requiredBytes: 9000, limitBytes: 0 })).toBe(false);
    expect(sizeFits(8192, { requiredBytes: 0, limitBytes: 4096 })).toBe(false);
  });
});
