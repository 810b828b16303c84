/**
 * A cluster node that corrupts extent frames in flight, for the corrupt-frame
 * test: `stowage-engine serve` run in-process with a mobility frame transform
 * in its CLI context, the one seam for it (no flag or environment variable
 * reaches it). The first send of extent EXTENT in every run it sends leaves
 * with a flipped byte, as a fault between the read and the wire would; the
 * resend goes out intact.
 *
 * As a harness `wrap`: node bin/tsx-run.mjs corrupting-node.ts EXTENT, followed
 * by the node's usual command line (…/stowage-engine.mjs serve …).
 */
import { runCli } from "../../src/cli/run";
import type { FrameTransform } from "../../src/cluster/mobility/sender";

const [extentArg, ...rest] = process.argv.slice(2);
const extent = Number(extentArg);
const serve = rest.indexOf("serve");
if (!Number.isInteger(extent) || extent < 0 || serve < 0) {
  process.stderr.write("usage: corrupting-node.ts EXTENT <node> <stowage-engine.mjs> serve [options]\n");
  process.exit(2);
}

const corruptFirstSend: FrameTransform = ({ extent: e, attempt, body }) => {
  if (e !== extent || attempt !== 0) return body;
  const flipped = Buffer.from(body);
  flipped[0] = (flipped[0] ?? 0) ^ 0xff;
  return flipped;
};

const status = await runCli(rest.slice(serve), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  waitForStop: () =>
    new Promise<string>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve(signal));
    }),
  mobilityFrameTransform: corruptFirstSend,
});
process.exit(status);
