/**
 * A BlockDevice over one preallocated-sparse file: buffered pwrite/pread,
 * fdatasync on flush and FUA. It stands in for a pool volume in tests and is
 * the "plain file" reference point when measuring the frontend.
 */
import { open, type FileHandle } from "node:fs/promises";
import { BlockIoError, type BlockDevice } from "../../block-device";

export class FileBlockDevice implements BlockDevice {
  readonly blockSize = 4096;
  readonly readOnly = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /** Opens (creating if needed) `path` and sizes it to `size` bytes. */
  static async open(path: string, size: number): Promise<FileBlockDevice> {
    if (size % 4096 !== 0) throw new Error("size must be a multiple of 4096");
    const fh = await open(path, "a+").then(async (h) => {
      await h.close();
      return open(path, "r+");
    });
    const stat = await fh.stat();
    if (stat.size !== size) await fh.truncate(size);
    return new FileBlockDevice(fh, size);
  }

  private check(offset: number, length: number): void {
    if (offset % this.blockSize !== 0 || length % this.blockSize !== 0) throw new BlockIoError("EINVAL", "unaligned request");
    if (offset + length > this.size) throw new BlockIoError("EINVAL", "out of range");
  }

  async read(offset: number, target: Buffer): Promise<void> {
    this.check(offset, target.length);
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await this.fh.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) {
        target.fill(0, done);
        return;
      }
      done += bytesRead;
    }
  }

  async write(offset: number, data: Buffer, opts?: { fua?: boolean }): Promise<void> {
    this.check(offset, data.length);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
    if (opts?.fua) await this.fh.datasync();
  }

  async flush(): Promise<void> {
    await this.fh.datasync();
  }

  async trim(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    // No hole punching in Node core; zero-filling keeps the "reads return zeros" contract.
    await this.writeZeroes(offset, length, opts);
  }

  async writeZeroes(offset: number, length: number, opts?: { fua?: boolean }): Promise<void> {
    this.check(offset, length);
    const chunk = Buffer.alloc(Math.min(length, 1024 * 1024));
    for (let pos = 0; pos < length; pos += chunk.length) {
      const n = Math.min(chunk.length, length - pos);
      await this.fh.write(chunk, 0, n, offset + pos);
    }
    if (opts?.fua) await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
