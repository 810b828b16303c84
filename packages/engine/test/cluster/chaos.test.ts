import { expect, it } from "vitest";
import { runChaos } from "./chaos";

it("survives 20 cycles of SIGKILL on random target and replica nodes without losing an acknowledged write", async () => {
  const summary = await runChaos({ cycles: 20, log: (l) => console.log(l) });
  console.log(JSON.stringify(summary));
  expect(summary.cycles).toBe(20);
  expect(summary.lostDetails).toEqual([]);
  expect(summary.lostWrites).toBe(0);
  expect(summary.staleEpochWritesAccepted).toBe(0);
  expect(summary.verifiedBlocks).toBeGreaterThan(0);
  expect(summary.maxIoPauseMs.targetLoss).toBeLessThan(10_000);
}, 240_000);
