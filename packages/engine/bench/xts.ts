/**
 * AES-256-XTS microbenchmark: the per-unit path (one aes-256-xts cipher
 * object per 4 KiB unit) against the batched ECB path (xtsBatched), in the
 * same run and interleaved round by round, so machine load hits both alike;
 * plus the default inline choice and the worker round trip for large sizes.
 * Reports the median over rounds (and the best round) in MB/s and µs per
 * 4 KiB unit. With --json, one JSON document on the last line.
 *
 *   npm run bench:xts -- [--json] [--rounds N] [--sizes 4k,64k,1m]
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseCount, parseSize, scriptArgs } from "../src/cli/args";
import { XtsCipher, generateDataKey } from "../src/crypto/xts";
import { XtsWorker } from "../src/crypto/xts-worker";

const { values, rounds, sizes } = scriptArgs(
  {
    name: "bench:xts",
    usage: "Usage: npm run bench:xts -- [--json] [--rounds N] [--sizes SIZE[,SIZE...]]",
    options: {
      json: { type: "boolean" },
      rounds: { type: "string" },
      sizes: { type: "string" },
    },
  },
  ({ values }) => ({
    values,
    rounds: Math.max(3, values.rounds === undefined ? 60 : parseCount(values.rounds, "--rounds")),
    sizes: (values.sizes ?? "4KiB,8KiB,16KiB,64KiB,1MiB").split(",").map((s) => parseSize(s.trim(), "--sizes")),
  }),
);

const UNIT = 4096;
/** Bytes processed per path per round: short rounds, so a scheduler hiccup spoils one sample, not the result. */
const ROUND_BYTES = 2 << 20;

interface Stats {
  mbps: number;
  usPerUnit: number;
  bestUsPerUnit: number;
}

const key = generateDataKey();
const perUnit = new XtsCipher(key, UNIT, { minBatchUnits: Infinity });
const batched = new XtsCipher(key, UNIT, { minBatchUnits: 1 });
const inline = new XtsCipher(key, UNIT);
const worker = new XtsWorker(key, UNIT);

type Op = "encrypt" | "decrypt";
type Path = (src: Buffer, dst: Buffer, op: Op) => void | Promise<void>;

const cipherPath =
  (c: XtsCipher): Path =>
  (src, dst, op) => {
    if (op === "encrypt") c.encryptInto(src, dst, 1234567);
    else c.decryptInPlace(dst, 0, dst.length / UNIT, 1234567);
  };

const workerPath: Path = async (src, dst, op) => {
  if (op === "encrypt") {
    const lease = await worker.encrypt(src, 1234567);
    lease.release();
  } else await worker.decryptInPlace(dst, 0, dst.length, 1234567);
};

function summarize(samples: number[], size: number): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const best = sorted[0] ?? NaN;
  const units = size / UNIT;
  return {
    mbps: Math.round(size / median),
    usPerUnit: Math.round((median / units) * 100) / 100,
    bestUsPerUnit: Math.round((best / units) * 100) / 100,
  };
}

async function measure(size: number, op: Op, paths: Record<string, Path>): Promise<Record<string, Stats>> {
  const src = randomBytes(size);
  const dst = Buffer.alloc(size);
  const iterations = Math.max(2, Math.round(ROUND_BYTES / size));
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(paths).map((p) => [p, []]));
  for (let round = -2; round < rounds; round++) {
    for (const [name, path] of Object.entries(paths)) {
      const t0 = performance.now();
      for (let i = 0; i < iterations; i++) await path(src, dst, op);
      const us = ((performance.now() - t0) * 1000) / iterations;
      if (round >= 0) samples[name]?.push(us); // two warm-up rounds
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, summarize(s, size)]));
}

async function main(): Promise<void> {
  const results: Array<{ sizeBytes: number; op: Op; paths: Record<string, Stats>; batchedSpeedup: number }> = [];
  const loadBefore = loadavg()[0] ?? 0;
  for (const size of sizes) {
    if (size % UNIT !== 0 || size === 0) throw new Error(`size ${size} is not a whole number of 4 KiB units`);
    for (const op of ["encrypt", "decrypt"] as const) {
      const paths: Record<string, Path> = { perUnit: cipherPath(perUnit), batched: cipherPath(batched), inline: cipherPath(inline) };
      if (size >= 64 * 1024) paths.worker = workerPath;
      const stats = await measure(size, op, paths);
      const old = stats.perUnit?.usPerUnit ?? NaN;
      const now = stats.batched?.usPerUnit ?? NaN;
      results.push({ sizeBytes: size, op, paths: stats, batchedSpeedup: Math.round((old / now) * 100) / 100 });
      if (!values.json) {
        const cells = Object.entries(stats).map(([p, s]) => `${p} ${s.usPerUnit.toFixed(2)} µs/unit ${s.mbps} MB/s`);
        process.stdout.write(`${String(size).padStart(8)} ${op.padEnd(7)}  ${cells.join("  ")}  perUnit/batched ${(old / now).toFixed(2)}\n`);
      }
    }
  }
  worker.close();
  const doc = {
    benchmark: "xts",
    node: process.version,
    openssl: process.versions.openssl,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadavg1: { before: Math.round(loadBefore * 100) / 100, after: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
    rounds,
    note: "median over rounds; perUnit = one aes-256-xts object per 4 KiB unit (the old path), batched = ECB + JS tweaks, inline = XtsCipher's default choice, worker = round trip through the crypto worker",
    results,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
  else process.stdout.write(`load average ${doc.loadavg1.before} → ${doc.loadavg1.after}\n`);
}

await main();
