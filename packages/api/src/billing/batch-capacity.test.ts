import { describe, expect, it } from "vitest";
import { volumeSample } from "../test-support/agent";
import { batchCapacity } from "./batch-capacity";

const GIB = 2 ** 30;
const at = (iso: string) => new Date(iso);
const sized = (id: string, iso: string, gib: number, replicas: number) => volumeSample(id, at(iso), { sizeBytes: gib * GIB, replicas });
const inGib = (c: ReturnType<typeof batchCapacity>) =>
  c.minutes.map((m) => `${new Date(m.hourStartMs).toISOString().slice(11, 13)}:${String(m.minute).padStart(2, "0")} ${Number(m.provisionedBytes) / GIB}/${Number(m.replicatedBytes) / GIB}`);

describe("a batch's capacity minutes", () => {
  it("sums each volume's largest size in a minute once, and its extra copies, minute by minute in time order", () => {
    const c = batchCapacity(
      [
        sized("a", "2026-12-01T10:31:40.000Z", 12, 2), // a grew within 10:31: its largest size counts, once
        sized("a", "2026-12-01T10:31:10.000Z", 10, 2),
        sized("b", "2026-12-01T10:31:20.000Z", 4, 3),
        sized("a", "2026-12-01T10:30:05.000Z", 10, 2),
        sized("b", "2026-12-01T11:00:00.000Z", 4, 1), // exactly 11:00 is the next hour; one copy, nothing extra
      ],
      Date.parse,
    );
    expect(c.fromVolumeTable).toBe(false);
    expect(inGib(c)).toEqual(["10:30 10/10", "10:31 16/20", "11:00 4/0"]);
  });

  it("leaves out samples without a size, and says a batch with no sized volume sample is metered from the volume table", () => {
    const mixed = batchCapacity([volumeSample("a", at("2026-12-01T10:30:00.000Z")), sized("b", "2026-12-01T10:30:00.000Z", 2, 2)], Date.parse);
    expect(inGib(mixed)).toEqual(["10:30 2/2"]);
    expect(batchCapacity([volumeSample("a", at("2026-12-01T10:30:00.000Z"))], Date.parse)).toEqual({ fromVolumeTable: true, minutes: [] });
    expect(batchCapacity([], Date.parse)).toEqual({ fromVolumeTable: true, minutes: [] });
  });

  it("adds exactly past 2^53 bytes", () => {
    const big = Array.from({ length: 3 }, (_, i) => volumeSample(`v${i}`, at("2026-12-01T10:30:00.000Z"), { sizeBytes: Number.MAX_SAFE_INTEGER, replicas: 3 }));
    const [m] = batchCapacity(big, Date.parse).minutes;
    expect(m?.provisionedBytes).toBe(3n * BigInt(Number.MAX_SAFE_INTEGER));
    expect(m?.replicatedBytes).toBe(6n * BigInt(Number.MAX_SAFE_INTEGER));
  });
});
