/**
 * A small JSON state file validated with zod and replaced atomically (write a
 * temporary file, fsync, rename), so a crash leaves the old or the new state,
 * never half of one. Updates run one at a time through `update`.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";

export class JsonFile<S extends z.ZodType> {
  private queue: Promise<unknown> = Promise.resolve();

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

  /** Reads, applies `change` and writes its result, after every earlier update has finished. */
  update<R>(change: (state: z.output<S>) => { state: z.output<S>; result: R } | Promise<{ state: z.output<S>; result: R }>): Promise<R> {
    const run = this.queue.then(async () => {
      const { state, result } = await change(await this.read());
      await this.write(state);
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
