/** A shared run of zero bytes to compare against (never written to). */
const ZEROS = Buffer.alloc(1024 * 1024);

/** True when `buf[at, at + length)` holds only zero bytes. */
export function isAllZero(buf: Buffer, at = 0, length = buf.length - at): boolean {
  for (let done = 0; done < length; ) {
    const n = Math.min(ZEROS.length, length - done);
    if (buf.compare(ZEROS, 0, n, at + done, at + done + n) !== 0) return false;
    done += n;
  }
  return true;
}
