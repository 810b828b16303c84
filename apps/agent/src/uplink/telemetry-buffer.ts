import fs from "node:fs/promises";
import path from "node:path";

/**
 * Telemetry waiting to be delivered, kept on disk so an agent restart or a
 * long control-plane outage loses nothing until the bound is reached. Past
 * the bound the oldest batches are dropped and counted; the count travels in
 * the next delivered batch, so the gap is visible on the dashboard.
 *
 * One file per batch named by its zero-padded sequence number; files are
 * written to a temp name and renamed, so a crash never leaves half a batch.
 */
export interface BufferedBatch {
  sequence: number;
  body: Buffer;
}

const NAME = /^(\d{12})\.batch$/;

export class TelemetryBuffer {
  private sequences: number[] = [];
  private bytes = 0;
  private sizes = new Map<number, number>();
  private dropped = 0;
  private nextSequence = 0;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  static async open(dir: string, maxBytes: number): Promise<TelemetryBuffer> {
    await fs.mkdir(dir, { recursive: true });
    const b = new TelemetryBuffer(dir, maxBytes);
    for (const name of await fs.readdir(dir)) {
      const m = NAME.exec(name);
      if (!m?.[1]) {
        if (name.endsWith(".tmp")) await fs.rm(path.join(dir, name), { force: true });
        continue;
      }
      const seq = Number(m[1]);
      const st = await fs.stat(path.join(dir, name));
      b.sequences.push(seq);
      b.sizes.set(seq, st.size);
      b.bytes += st.size;
    }
    b.sequences.sort((x, y) => x - y);
    b.nextSequence = (b.sequences.at(-1) ?? -1) + 1;
    try {
      const meta = JSON.parse(await fs.readFile(path.join(dir, "state.json"), "utf8")) as { dropped?: unknown; nextSequence?: unknown };
      if (typeof meta.dropped === "number") b.dropped = meta.dropped;
      if (typeof meta.nextSequence === "number") b.nextSequence = Math.max(b.nextSequence, meta.nextSequence);
    } catch {
      // First start: nothing dropped yet.
    }
    return b;
  }

  get length(): number {
    return this.sequences.length;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Batches dropped since the last acknowledged delivery. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Reserves the next sequence number (before building the batch that carries it). */
  allocateSequence(): number {
    return this.nextSequence++;
  }

  async append(sequence: number, body: Buffer): Promise<void> {
    const file = path.join(this.dir, `${String(sequence).padStart(12, "0")}.batch`);
    await fs.writeFile(`${file}.tmp`, body);
    await fs.rename(`${file}.tmp`, file);
    this.sequences.push(sequence);
    this.sizes.set(sequence, body.length);
    this.bytes += body.length;
    while (this.bytes > this.maxBytes && this.sequences.length > 1) {
      const oldest = this.sequences[0];
      if (oldest === undefined) break;
      await this.remove(oldest);
      this.dropped++;
    }
    await this.saveState();
  }

  async peek(): Promise<BufferedBatch | null> {
    const seq = this.sequences[0];
    if (seq === undefined) return null;
    const body = await fs.readFile(path.join(this.dir, `${String(seq).padStart(12, "0")}.batch`));
    return { sequence: seq, body };
  }

  /** The batch was stored by the control plane: forget it, and the drop count it carried. */
  async acknowledge(sequence: number, droppedReported: number): Promise<void> {
    await this.remove(sequence);
    this.dropped = Math.max(0, this.dropped - droppedReported);
    await this.saveState();
  }

  /** The control plane refused the batch for good: forget it and count it as dropped. */
  async discard(sequence: number): Promise<void> {
    await this.remove(sequence);
    this.dropped++;
    await this.saveState();
  }

  private async remove(sequence: number): Promise<void> {
    const i = this.sequences.indexOf(sequence);
    if (i < 0) return;
    this.sequences.splice(i, 1);
    this.bytes -= this.sizes.get(sequence) ?? 0;
    this.sizes.delete(sequence);
    await fs.rm(path.join(this.dir, `${String(sequence).padStart(12, "0")}.batch`), { force: true });
  }

  private async saveState(): Promise<void> {
    const file = path.join(this.dir, "state.json");
    await fs.writeFile(`${file}.tmp`, JSON.stringify({ dropped: this.dropped, nextSequence: this.nextSequence }));
    await fs.rename(`${file}.tmp`, file);
  }
}
