import fs from "node:fs/promises";
import path from "node:path";

/**
 * Telemetry waiting to be delivered, kept on disk so an agent restart or a
 * long control-plane outage loses nothing until the bound is reached. Past
 * the bound the oldest batches are dropped and counted. Each drop is reported
 * by exactly one later batch (the next one built), so the control plane can
 * sum the counts; a batch dropped before delivery hands its count back.
 *
 * One file per batch named by its zero-padded sequence number and the drop
 * count the batch carries (so acknowledging it needs no look inside); files
 * are written to a temp name and renamed, so a crash never leaves half a batch.
 */
export interface BufferedBatch {
  sequence: number;
  body: Buffer;
  /** The drop count this batch reports to the control plane. */
  droppedReported: number;
}

const NAME = /^(\d{12})-d(\d+)\.batch$/;

function fileName(sequence: number, droppedReported: number): string {
  return `${String(sequence).padStart(12, "0")}-d${droppedReported}.batch`;
}

export class TelemetryBuffer {
  private sequences: number[] = [];
  private bytes = 0;
  private readonly files = new Map<number, { size: number; droppedReported: number }>();
  /** Drops not carried by any buffered batch yet. */
  private unreported = 0;
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
      if (!m?.[1] || !m[2]) {
        if (name.endsWith(".tmp")) await fs.rm(path.join(dir, name), { force: true });
        continue;
      }
      const seq = Number(m[1]);
      const st = await fs.stat(path.join(dir, name));
      b.sequences.push(seq);
      b.files.set(seq, { size: st.size, droppedReported: Number(m[2]) });
      b.bytes += st.size;
    }
    b.sequences.sort((x, y) => x - y);
    b.nextSequence = (b.sequences.at(-1) ?? -1) + 1;
    try {
      const meta = JSON.parse(await fs.readFile(path.join(dir, "state.json"), "utf8")) as { unreported?: unknown; nextSequence?: unknown };
      if (typeof meta.unreported === "number") b.unreported = meta.unreported;
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

  /** Batches dropped whose drop the control plane has not acknowledged yet. */
  get droppedCount(): number {
    let n = this.unreported;
    for (const f of this.files.values()) n += f.droppedReported;
    return n;
  }

  /**
   * The drops the next batch reports; they are then its to report (and come
   * back if it is dropped in turn). Call right before `append`.
   */
  takeDropReport(): number {
    const n = this.unreported;
    this.unreported = 0;
    return n;
  }

  /** Reserves the next sequence number (before building the batch that carries it). */
  allocateSequence(): number {
    return this.nextSequence++;
  }

  /** Stores a batch that reports `droppedReported` dropped batches (from `takeDropReport`). */
  async append(sequence: number, body: Buffer, droppedReported: number): Promise<void> {
    const file = path.join(this.dir, fileName(sequence, droppedReported));
    await fs.writeFile(`${file}.tmp`, body);
    await fs.rename(`${file}.tmp`, file);
    this.sequences.push(sequence);
    this.files.set(sequence, { size: body.length, droppedReported });
    this.bytes += body.length;
    while (this.bytes > this.maxBytes && this.sequences.length > 1) {
      const oldest = this.sequences[0];
      if (oldest === undefined) break;
      await this.drop(oldest);
    }
    await this.saveState();
  }

  async peek(): Promise<BufferedBatch | null> {
    const seq = this.sequences[0];
    const meta = seq === undefined ? undefined : this.files.get(seq);
    if (seq === undefined || !meta) return null;
    const body = await fs.readFile(path.join(this.dir, fileName(seq, meta.droppedReported)));
    return { sequence: seq, body, droppedReported: meta.droppedReported };
  }

  /** The batch was stored by the control plane, and with it the drops it reported. */
  async acknowledge(sequence: number): Promise<void> {
    await this.remove(sequence);
    await this.saveState();
  }

  /** The control plane refused the batch for good: forget it and count it as dropped. */
  async discard(sequence: number): Promise<void> {
    await this.drop(sequence);
    await this.saveState();
  }

  /** Removes an undelivered batch: it counts as dropped, and the drops it was to report are unreported again. */
  private async drop(sequence: number): Promise<void> {
    const carried = this.files.get(sequence)?.droppedReported ?? 0;
    await this.remove(sequence);
    this.unreported += 1 + carried;
  }

  private async remove(sequence: number): Promise<void> {
    const i = this.sequences.indexOf(sequence);
    const meta = this.files.get(sequence);
    if (i < 0 || !meta) return;
    this.sequences.splice(i, 1);
    this.bytes -= meta.size;
    this.files.delete(sequence);
    await fs.rm(path.join(this.dir, fileName(sequence, meta.droppedReported)), { force: true });
  }

  private async saveState(): Promise<void> {
    const file = path.join(this.dir, "state.json");
    await fs.writeFile(`${file}.tmp`, JSON.stringify({ unreported: this.unreported, nextSequence: this.nextSequence }));
    await fs.rename(`${file}.tmp`, file);
  }
}
