/**
 * Long chaos runs: `npm run chaos -- --cycles N`. Prints one progress line
 * per cycle on stderr and a JSON summary on the last line of stdout.
 */
import { parseArgs } from "node:util";
import { runChaos } from "../test/cluster/chaos";

const { values } = parseArgs({ options: { cycles: { type: "string", default: "50" } } });
const cycles = Number(values.cycles);
if (!Number.isInteger(cycles) || cycles < 1) {
  process.stderr.write("chaos: --cycles must be a positive integer\n");
  process.exit(2);
}
const summary = await runChaos({ cycles, log: (l) => process.stderr.write(`${l}\n`) });
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.lostWrites === 0 && summary.staleEpochWritesAccepted === 0 ? 0 : 1);
