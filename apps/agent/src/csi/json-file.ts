/**
 * A small JSON state file validated with zod and replaced atomically (write a
 * temporary file, fsync, rename), so a crash leaves the old or the new state,
 * never half of one. Updates go through `update`, one commit at a time.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";

export class JsonFile<S extends z.ZodType> {
  private pending: Array<PendingChange<z.output<S>>> = [];
  private committing = false;

  constructor(
    readonly file: string,
    private readonly schema: S,
    private readonly empty: () => z.output<S>,
  ) {}

  async read(): Promise<z.output<S>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return this.empty();
      throw err;
    }
    const parsed = this.schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is not valid state: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return parsed.data;
  }

  async write(value: z.output<S>): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${randomBytes(4).toString("hex")}.tmp`;
    const handle = await fs.open(tmp, "w", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
  }

  /**
   * Applies `change` to the state and resolves with its result once the new
   * state is durable. Changes arriving while a write is in flight are applied
   * in arrival order to one state and committed by one write (a group
   * commit): each still sees every earlier change, and none resolves before
   * its state is on disk — but N concurrent updates cost one fsync, not N in
   * a row. A change that throws fails alone; the others of its group commit.
   */
  update<R>(change: Change<z.output<S>, R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ change, resolve: resolve as (value: unknown) => void, reject });
      if (!this.committing) void this.commitLoop();
    });
  }

  private async commitLoop(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        const group = this.pending.splice(0);
        const done: Array<{ resolve: (value: unknown) => void; result: unknown }> = [];
        try {
          let state: z.output<S> = await this.read();
          for (const item of group) {
            try {
              const next = await item.change(state);
              state = next.state;
              done.push({ resolve: item.resolve, result: next.result });
            } catch (err) {
              item.reject(err);
            }
          }
          if (done.length > 0) await this.write(state);
          for (const d of done) d.resolve(d.result);
        } catch (err) {
          // The read or the write failed: nothing of this group is durable.
          for (const item of group) item.reject(err);
        }
      }
    } finally {
      this.committing = false;
    }
  }
}

type Change<T, R> = (state: T) => { state: T; result: R } | Promise<{ state: T; result: R }>;

interface PendingChange<T> {
  change: Change<T, unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}
