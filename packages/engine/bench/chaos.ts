/**
 * Long chaos runs: `npm run chaos -- --cycles N`. Prints one progress line
 * per cycle on stderr and a JSON summary on the last line of stdout.
 */
import { parseCount, scriptArgs } from "../src/cli/args";
import { runChaos } from "../test/cluster/chaos";

const cycles = scriptArgs(
  {
    name: "chaos",
    usage: "Usage: npm run chaos -- [--cycles N]   (N kill/restart cycles, default 50)",
    options: { cycles: { type: "string", default: "50" } },
  },
  ({ values }) => parseCount(values.cycles, "--cycles"),
);
const summary = await runChaos({ cycles, log: (l) => process.stderr.write(`${l}\n`) });
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.lostWrites === 0 && summary.staleEpochWritesAccepted === 0 ? 0 : 1);
