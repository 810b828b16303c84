import { open } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pattern, useTempDir } from "../util/test-helpers";
import { Volume } from "./volume";

const MiB = 1 << 20;
let dir: string;
useTempDir((d) => (dir = d));

describe("durability pipeline", () => {
  it("FUA and flush make data durable (checksum pages written)", async () => {
    const vdir = path.join(dir, "v");
    const vol = await Volume.create(vdir, { name: "v", size: 16 * MiB });
    await vol.write(0, pattern(4096, 8), { fua: true });
    const meta = await open(path.join(vdir, "slots.meta"), "r");
    const { size } = await meta.stat();
    await meta.close();
    expect(size).toBeGreaterThan(0);
    await vol.close();
  });
});
