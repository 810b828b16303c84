import { readFile } from "node:fs/promises";
import path from "node:path";
import { crc32 } from "node:zlib";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-file";
import { EngineError, errnoCode } from "../errors";

/**
 * Metadata checkpoint (`meta.ckpt`): the whole extent map at one WAL sequence
 * number, replaced atomically. Replay = load checkpoint, then apply WAL
 * records with seq > checkpoint seq.
 *
 * Format, version 1 (little-endian):
 *   magic "STOWCKP1" | u16 version | u16 0 | u32 json length |
 *   json (versions and counters; small, control-path only) |
 *   u32 slot count | slot count × (u32 slot, u32 version, u32 extent, u32 incarnation) |
 *   u32 hot count | hot count × u32 slot |
 *   u32 crc32 of everything before it
 */
export const CHECKPOINT_FILE = "meta.ckpt";
export const CHECKPOINT_VERSION = 1;
const MAGIC = Buffer.from("STOWCKP1", "latin1");

const headerSchema = z.object({
  seq: z.number(),
  head: z.number().int(),
  nextVersionId: z.number().int(),
  nextSlot: z.number().int(),
  nextIncarnation: z.number().int(),
  versions: z.array(
    z.object({
      id: z.number().int(),
      parent: z.number().int().nullable(),
      name: z.string().nullable(),
      size: z.number(),
      createdAt: z.number(),
      deleted: z.boolean(),
    }),
  ),
});

export type CheckpointHeader = z.infer<typeof headerSchema>;
export interface CheckpointSlot {
  id: number;
  version: number;
  extent: number;
  incarnation: number;
}
export interface CheckpointData extends CheckpointHeader {
  slots: CheckpointSlot[];
  hot: number[];
}

export function encodeCheckpoint(data: CheckpointData): Buffer {
  const header: CheckpointHeader = {
    seq: data.seq,
    head: data.head,
    nextVersionId: data.nextVersionId,
    nextSlot: data.nextSlot,
    nextIncarnation: data.nextIncarnation,
    versions: data.versions,
  };
  const json = Buffer.from(JSON.stringify(header));
  const size = 16 + json.length + 4 + data.slots.length * 16 + 4 + data.hot.length * 4 + 4;
  const buf = Buffer.alloc(size);
  MAGIC.copy(buf, 0);
  buf.writeUInt16LE(CHECKPOINT_VERSION, 8);
  buf.writeUInt32LE(json.length, 12);
  json.copy(buf, 16);
  let o = 16 + json.length;
  buf.writeUInt32LE(data.slots.length, o);
  o += 4;
  for (const s of data.slots) {
    buf.writeUInt32LE(s.id, o);
    buf.writeUInt32LE(s.version, o + 4);
    buf.writeUInt32LE(s.extent, o + 8);
    buf.writeUInt32LE(s.incarnation, o + 12);
    o += 16;
  }
  buf.writeUInt32LE(data.hot.length, o);
  o += 4;
  for (const h of data.hot) {
    buf.writeUInt32LE(h, o);
    o += 4;
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, o)), o);
  return buf;
}

export function decodeCheckpoint(buf: Buffer): CheckpointData {
  const bad = (why: string): EngineError => new EngineError("CORRUPT", `metadata checkpoint is invalid: ${why}`);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(MAGIC)) throw bad("bad magic");
  if (buf.readUInt32LE(buf.length - 4) !== crc32(buf.subarray(0, buf.length - 4))) throw bad("checksum mismatch");
  const version = buf.readUInt16LE(8);
  if (version !== CHECKPOINT_VERSION) throw bad(`format ${version} is not supported`);
  const jsonLen = buf.readUInt32LE(12);
  let header: CheckpointHeader;
  try {
    header = headerSchema.parse(JSON.parse(buf.toString("utf8", 16, 16 + jsonLen)));
  } catch (err) {
    throw new EngineError("CORRUPT", "metadata checkpoint header is invalid", { cause: err });
  }
  let o = 16 + jsonLen;
  const nSlots = buf.readUInt32LE(o);
  o += 4;
  const slots: CheckpointSlot[] = [];
  for (let i = 0; i < nSlots; i++, o += 16) {
    slots.push({ id: buf.readUInt32LE(o), version: buf.readUInt32LE(o + 4), extent: buf.readUInt32LE(o + 8), incarnation: buf.readUInt32LE(o + 12) });
  }
  const nHot = buf.readUInt32LE(o);
  o += 4;
  const hot: number[] = [];
  for (let i = 0; i < nHot; i++, o += 4) hot.push(buf.readUInt32LE(o));
  return { ...header, slots, hot };
}

export async function writeCheckpoint(dir: string, data: CheckpointData): Promise<void> {
  await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), encodeCheckpoint(data));
}

/** Undefined when no checkpoint was ever written. */
export async function readCheckpoint(dir: string): Promise<CheckpointData | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path.join(dir, CHECKPOINT_FILE));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
  return decodeCheckpoint(buf);
}
