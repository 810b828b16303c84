import type { BlockDevice } from "../block-device";

const CHUNK = 1 << 20;

/**
 * Copies the allocated ranges of `src` into `dst` (thin: holes stay holes),
 * in 1 MiB chunks with a few in flight to keep the disk busy.
 */
export async function copyDevice(src: BlockDevice, dst: BlockDevice, opts: { concurrency?: number } = {}): Promise<number> {
  const ranges = src.allocatedRanges ? await src.allocatedRanges(0, src.size) : [{ offset: 0, length: src.size }];
  const chunks: Array<{ offset: number; length: number }> = [];
  for (const r of ranges) {
    for (let at = r.offset; at < r.offset + r.length; at += CHUNK) chunks.push({ offset: at, length: Math.min(CHUNK, r.offset + r.length - at) });
  }
  let next = 0;
  let copied = 0;
  const worker = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const c = chunks[next++];
      if (!c) return;
      const view = buf.subarray(0, c.length);
      await src.read(c.offset, view);
      await dst.write(c.offset, view);
      copied += c.length;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  return copied;
}
