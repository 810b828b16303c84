import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalFileKms } from "../kms/local-file";
import { scrub } from "../scrub/scrub";
import { pattern, useTempDir } from "../util/test-helpers";
import { Volume } from "./volume";

const MiB = 1 << 20;
let dir: string;
useTempDir((d) => (dir = d));

describe("encrypted volumes", () => {
  it("round-trips, stores only ciphertext, and survives reopen", async () => {
    const keyFile = path.join(dir, "kek");
    await LocalFileKms.generateKeyFile(keyFile);
    const kms = new LocalFileKms({ path: keyFile });
    const vdir = path.join(dir, "v");
    let vol = await Volume.create(vdir, { name: "v", size: 16 * MiB, encrypted: true, kms });
    expect(vol.encrypted).toBe(true);
    const marker = Buffer.from("STOWAGE-PLAINTEXT-MARKER-".repeat(200).slice(0, 4096));
    const data = Buffer.concat([marker, pattern(MiB - 4096, 1)]);
    await vol.write(0, data);
    await vol.write(5000, Buffer.from("unaligned-marker"));
    data.write("unaligned-marker", 5000);
    await vol.close();
    const segs = (await readdir(vdir)).filter((f) => f.startsWith("seg-"));
    for (const s of segs) {
      const raw = await readFile(path.join(vdir, s));
      expect(raw.includes(Buffer.from("STOWAGE-PLAINTEXT-MARKER"))).toBe(false);
      expect(raw.includes(Buffer.from("unaligned-marker"))).toBe(false);
      expect(raw.includes(data.subarray(8192, 8192 + 64))).toBe(false);
    }
    const sb = await readFile(path.join(vdir, "volume.json"), "utf8");
    expect(sb).toContain("aes-256-xts-plain64");
    vol = await Volume.open(vdir, { kms });
    const back = Buffer.alloc(MiB);
    await vol.read(0, back);
    expect(back.equals(data)).toBe(true);
    // Checksums cover ciphertext: scrub works and is clean.
    expect((await scrub(vol)).badBlocks).toEqual([]);
    // Snapshot merge copies ciphertext as-is (tweak = logical block): data stays readable.
    await vol.createSnapshot("s");
    await vol.write(4096, Buffer.alloc(4096, 1));
    await vol.deleteSnapshot("s");
    Buffer.alloc(4096, 1).copy(data, 4096);
    await vol.read(0, back);
    expect(back.equals(data)).toBe(true);
    await vol.close();
  });

  it("refuses to open without a key or with the wrong key, never returning garbage", async () => {
    const a = path.join(dir, "a");
    const b = path.join(dir, "b");
    await LocalFileKms.generateKeyFile(a);
    await LocalFileKms.generateKeyFile(b);
    const vdir = path.join(dir, "v");
    const vol = await Volume.create(vdir, { name: "v", size: 8 * MiB, encrypted: true, kms: new LocalFileKms({ path: a }) });
    await vol.write(0, pattern(4096, 2));
    await vol.close();
    await expect(Volume.open(vdir)).rejects.toMatchObject({ code: "KEY" });
    await expect(Volume.open(vdir, { kms: new LocalFileKms({ path: b }) })).rejects.toMatchObject({ code: "WRONG_KEY" });
    // A provider that hands back some other 64-byte key is caught by the key check value.
    const liar = {
      kind: "local-file",
      wrapKey: () => Promise.reject(new Error("unused")),
      unwrapKey: () => Promise.resolve(Buffer.alloc(64, 1).fill(2, 32)),
    };
    await expect(Volume.open(vdir, { kms: liar })).rejects.toMatchObject({ code: "WRONG_KEY" });
  });
});
