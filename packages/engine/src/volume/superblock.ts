import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-file";
import { EngineError } from "../errors";
import { BLOCK_SIZE, EXTENT_SIZE } from "./geometry";

/**
 * Volume superblock: identity and static parameters, `volume.json`.
 * Replaced atomically (tmp → fsync → rename → fsync dir). Not on the data path,
 * so JSON is fine here. The live size is metadata that changes (grow), so it
 * lives in the checkpoint/WAL, not here; `size` is the size at creation.
 */
export const SUPERBLOCK_FILE = "volume.json";
export const SUPERBLOCK_VERSION = 1;

const wrappedKeySchema = z.object({ provider: z.string(), keyId: z.string(), ciphertext: z.string() });

export const superblockSchema = z.object({
  formatVersion: z.literal(SUPERBLOCK_VERSION),
  uuid: z.string().uuid(),
  name: z.string(),
  createdAt: z.string(),
  blockSize: z.literal(BLOCK_SIZE),
  extentSize: z.literal(EXTENT_SIZE),
  /** Per-block checksum over what is stored on disk (ciphertext when encrypted). */
  checksum: z.literal("crc32"),
  cipher: z.enum(["none", "aes-256-xts-plain64"]),
  encryption: z.object({ wrappedKey: wrappedKeySchema, keyCheck: z.string() }).optional(),
  /** Size at creation; the current size is in the metadata log. */
  size: z.number().int().positive(),
});

export type Superblock = z.infer<typeof superblockSchema>;

export async function writeSuperblock(dir: string, sb: Superblock): Promise<void> {
  await writeFileAtomic(path.join(dir, SUPERBLOCK_FILE), JSON.stringify(sb, null, 2) + "\n");
}

export async function readSuperblock(dir: string): Promise<Superblock> {
  const text = await readFile(path.join(dir, SUPERBLOCK_FILE), "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EngineError("CORRUPT", `superblock in ${dir} is not valid JSON`, { cause: err });
  }
  const parsed = superblockSchema.safeParse(json);
  if (!parsed.success) throw new EngineError("CORRUPT", `superblock in ${dir} is invalid: ${parsed.error.message}`);
  return parsed.data;
}
