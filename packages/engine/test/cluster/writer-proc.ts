/**
 * The verifying writer as a process, for tests that must write from inside a
 * network namespace. `write` prints one JSON line per outcome
 * ({"a":[block,gen,ms]} acknowledged, {"f":[block,gen,ms]} failed; ms is
 * Date.now()) until stdin closes; `verify FILE` reads {seed, acked, uncertain}
 * and prints a VerifyReport.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { RawNbdClient } from "../../src/nbd/testing/raw-client";
import { verifyBlocks, VerifyingWriter } from "./verifying-writer";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { nbd: { type: "string" }, volume: { type: "string" }, blocks: { type: "string" }, first: { type: "string" }, seed: { type: "string" } },
});
const [mode, file] = positionals;
const nbd = values.nbd ?? "127.0.0.1:10809";
const i = nbd.lastIndexOf(":");
const ep = { host: nbd.slice(0, i), port: Number(nbd.slice(i + 1)) };
const volume = values.volume ?? "";

if (mode === "verify") {
  const input = JSON.parse(await readFile(file ?? "", "utf8")) as { seed: number; acked: Array<[number, number]>; uncertain: Array<[number, number[]]> };
  const c = await RawNbdClient.open(ep, volume);
  const report = await verifyBlocks(c, new Map(input.acked), new Map(input.uncertain.map(([b, g]) => [b, new Set(g)])), input.seed);
  c.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

const writer = new VerifyingWriter({
  volume,
  blocks: Number(values.blocks ?? "1024"),
  firstBlock: Number(values.first ?? "0"),
  seed: Number(values.seed ?? "1"),
  queueDepth: 4,
  locate: () => Promise.resolve(ep),
  onAck: (b, g) => process.stdout.write(`${JSON.stringify({ a: [b, g, Date.now()] })}\n`),
  onFail: (b, g) => process.stdout.write(`${JSON.stringify({ f: [b, g, Date.now()] })}\n`),
});
writer.start();
process.stdin.resume();
process.stdin.on("end", () => {
  void writer.stop().then(() => process.exit(0));
});
