import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { z } from "zod";
import { JsonFile } from "./json-file";

const schema = z.object({ items: z.array(z.number()) });
const dirs: string[] = [];
function file(): JsonFile<typeof schema> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-json-file-"));
  dirs.push(dir);
  return new JsonFile(path.join(dir, "state.json"), schema, () => ({ items: [] }));
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const append = (n: number) => (s: { items: number[] }) => ({ state: { items: [...s.items, n] }, result: s.items.length });

it("commits concurrent updates in arrival order, each seeing the ones before, with fewer writes than updates", async () => {
  const f = file();
  const writes = vi.spyOn(f, "write");
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => f.update(append(i))));
  expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
  expect((await f.read()).items).toEqual(Array.from({ length: 50 }, (_, i) => i));
  expect(JSON.parse(fs.readFileSync(f.file, "utf8"))).toEqual({ items: Array.from({ length: 50 }, (_, i) => i) });
  // The first update commits alone; everything that arrived while it was writing shares the next write.
  expect(writes.mock.calls.length).toBeLessThan(50);
  expect(writes.mock.calls.length).toBeGreaterThanOrEqual(2);
});

it("resolves an update only once its state is on disk", async () => {
  const f = file();
  await f.update(append(7));
  expect(JSON.parse(fs.readFileSync(f.file, "utf8"))).toEqual({ items: [7] });
});

it("fails a change that throws alone: the others of its group commit", async () => {
  const f = file();
  const [a, b, c] = await Promise.allSettled([
    f.update(append(1)),
    f.update(() => {
      throw new Error("refused");
    }),
    f.update(append(3)),
  ]);
  expect(a).toMatchObject({ status: "fulfilled", value: 0 });
  expect(b).toMatchObject({ status: "rejected", reason: new Error("refused") });
  expect(c).toMatchObject({ status: "fulfilled", value: 1 });
  expect((await f.read()).items).toEqual([1, 3]);
});

it("fails the whole group when the write fails, and recovers for the next update", async () => {
  const f = file();
  const write = vi.spyOn(f, "write").mockRejectedValueOnce(new Error("disk full"));
  await expect(f.update(append(1))).rejects.toThrow("disk full");
  write.mockRestore();
  expect(await f.update(append(2))).toBe(0);
  expect((await f.read()).items).toEqual([2]);
});
