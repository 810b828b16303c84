/**
 * Steps of the fault tests around one run: wait for durable progress mid-stream,
 * resume, and check the copy is identical. Kept out of fixture.ts, which the
 * replication benchmark imports outside vitest.
 */
import { pollUntil } from "@stowage/testing/poll";
import { expect } from "vitest";
import { cursorRecordSchema, mobilityKeys } from "../../src/cluster/mobility/records";
import type { TestCluster } from "../cluster/harness";
import { cli, nbdHash, runRecord, waitRunState, type Clusters } from "./fixture";

/** Waits until the destination holds `volume`'s extent `extent` durably (mid-stream, with progress to keep). */
export async function durableThrough(c: Clusters, volume: string, extent: number): Promise<number> {
  return pollUntil(
    async () => {
      const cur = (await c.west.store.get(mobilityKeys.cursor(volume), cursorRecordSchema))?.value.lastExtent ?? -1;
      return cur >= extent ? cur : undefined;
    },
    { what: `the destination's cursor at extent ${extent}`, timeoutMs: 60_000, intervalMs: 50 },
  ).catch(async (err: unknown) => {
    // What the run and both ends said, so a stalled run can be told from a slow one.
    const run = await runRecord(c.east, volume);
    throw new Error(`${err instanceof Error ? err.message : String(err)}; run: ${JSON.stringify(run)}\n${tails(c)}`);
  });
}

/** The last log lines of every node of both clusters. */
export function tails(c: Clusters, lines = 8): string {
  const of = (cluster: TestCluster): string[] => [...cluster.nodes.keys()].map((n) => `${n}:\n${cluster.tail(n, lines)}`);
  return [...of(c.east), ...of(c.west)].join("\n");
}

/** Resumes `volume`'s run through `node`, retrying while it is refused (a killed node's lease must lapse first). */
export async function resumeThrough(c: Clusters, volume: string, node: string): Promise<void> {
  let last = "";
  await pollUntil(
    async () => {
      const res = await cli(["mobility", "resume", volume, "--admin", c.east.admin(node)]);
      last = res.err;
      return res.code === 0 ? true : undefined;
    },
    { what: "resume accepted", timeoutMs: 30_000, intervalMs: 250 },
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}: ${last}`);
  });
}

/** The run completes, and the copy reads back identical to the source, by hash and by `mobility verify`. */
export async function expectIdentical(c: Clusters, volume: string): Promise<void> {
  const run = await waitRunState(c.east, volume, ["completed"], 120_000);
  expect(run.error).toBeUndefined();
  expect(await nbdHash(c.west, volume, c.dir, c.westWrap)).toBe(await nbdHash(c.east, volume, c.dir));
  const verified = await cli(["mobility", "verify", volume, "--admin", c.east.admin(run.node)]);
  expect(verified.out).toContain("identical on both sides");
}
