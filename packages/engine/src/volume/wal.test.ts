import { appendFile, readFile, stat, truncate } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../util/test-helpers";
import { WAL_FILE, WalLog, encodeRecord, parseWal, type WalRecord } from "./wal";

let dir: string;
useTempDir((d) => (dir = d));

const records: WalRecord[] = [
  { type: "alloc", version: 1, extent: 7, slot: 3, incarnation: 9 },
  { type: "hot", slots: [1, 2, 3] },
  { type: "snapshot", frozen: 1, newHead: 2, size: 1 << 30, createdAt: 1700000000000, name: "nightly-1" },
  { type: "cold", slots: [2] },
  { type: "reassign", slot: 3, version: 2 },
  { type: "free", slot: 3 },
  { type: "resize", size: 2 ** 40 },
  { type: "revert", target: 1, newHead: 4 },
  { type: "delete-version", version: 2 },
  { type: "remove-version", version: 2 },
];

describe("metadata WAL", () => {
  it("replays every record type after group commit and reopen", async () => {
    await WalLog.create(dir);
    const { wal } = await WalLog.open(dir);
    for (const r of records) wal.append(r);
    // Concurrent syncs share commits and all resolve.
    await Promise.all([wal.sync(), wal.sync(), wal.sync()]);
    expect(wal.syncedSeq).toBe(records.length);
    await wal.close();
    const { wal: again, replay } = await WalLog.open(dir);
    expect(replay.records.map((r) => r.rec)).toEqual(records);
    expect(replay.records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(replay.discardedBytes).toBe(0);
    await again.close();
  });

  it("discards a torn tail record and keeps appending after the valid prefix", async () => {
    await WalLog.create(dir);
    const { wal } = await WalLog.open(dir);
    wal.append(records[0] ?? { type: "free", slot: 0 });
    wal.append(records[1] ?? { type: "free", slot: 0 });
    await wal.sync();
    await wal.close();
    const file = path.join(dir, WAL_FILE);
    const good = (await stat(file)).size;
    // A record cut short by a crash mid-append.
    const frame = encodeRecord({ type: "free", slot: 5 }, 3);
    await appendFile(file, frame.subarray(0, frame.length - 3));
    const { wal: w2, replay } = await WalLog.open(dir);
    expect(replay.records).toHaveLength(2);
    expect(replay.discardedBytes).toBe(frame.length - 3);
    expect((await stat(file)).size).toBe(good);
    w2.append({ type: "free", slot: 6 });
    await w2.sync();
    await w2.close();
    const { wal: w3, replay: r3 } = await WalLog.open(dir);
    expect(r3.records.map((r) => r.rec)).toEqual([records[0], records[1], { type: "free", slot: 6 }]);
    await w3.close();
  });

  it("stops at a record whose checksum does not match", async () => {
    await WalLog.create(dir);
    const { wal } = await WalLog.open(dir);
    for (const r of records.slice(0, 4)) wal.append(r);
    await wal.sync();
    await wal.close();
    const image = await readFile(path.join(dir, WAL_FILE));
    const firstLen = image.readUInt32LE(32) + 8;
    // Flip a payload byte of the second record.
    image[32 + firstLen + 8 + 14] = (image[32 + firstLen + 8 + 14] ?? 0) ^ 0xff;
    const parsed = parseWal(image);
    expect(parsed.records).toHaveLength(1);
    expect(parsed.validLength).toBe(32 + firstLen);
  });

  it("truncation after a checkpoint keeps newer records", async () => {
    await WalLog.create(dir);
    const { wal } = await WalLog.open(dir);
    for (const r of records.slice(0, 3)) wal.append(r);
    await wal.sync();
    wal.append(records[3] ?? { type: "free", slot: 0 });
    await wal.truncateThrough(2);
    await wal.sync();
    await wal.close();
    const { wal: w2, replay } = await WalLog.open(dir);
    expect(replay.baseSeq).toBe(2);
    expect(replay.records.map((r) => r.seq)).toEqual([3, 4]);
    await w2.close();
  });

  it("rejects a log with a damaged header", async () => {
    await WalLog.create(dir);
    await truncate(path.join(dir, WAL_FILE), 10);
    await expect(WalLog.open(dir)).rejects.toMatchObject({ code: "CORRUPT" });
  });
});
