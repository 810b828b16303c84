/**
 * Interrupted replication runs resume from what the destination acknowledged
 * and end in an identical copy: the source's target node killed (-9) mid-stream,
 * the destination's node killed (-9), the link between the clusters cut.
 */
import { pollUntil } from "@stowage/testing/poll";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cursorRecordSchema, mobilityKeys } from "../../src/cluster/mobility/records";
import { cli, createVolume, MiB, nbdHash, randomish, runRecord, startClusters, waitRunState, writeAt, type Clusters } from "./fixture";

const EXTENT = 4 * MiB;

describe("mobility: interrupted runs resume to an identical copy", () => {
  let c: Clusters;

  beforeAll(async () => {
    c = await startClusters({ eastNodes: [{ id: "e1" }, { id: "e2" }, { id: "e3" }] });
    c.relayTo.volume = "big";
    // Slow enough to interrupt mid-stream on purpose; the bucket is shared by the peer's streams.
    // 8 MB/s: a 4 MiB frame every half second, so the destination goes idle after each one and
    // commits it (the cursor steps one extent at a time) and a run lasts seconds. At 24 MB/s a
    // quick destination finished 40 MiB between two cursor polls, committed in batches of 8.
    const bw = await cli(["mobility", "peer", "bandwidth", "west", "--mbps", "8", "--admin", c.east.admin("e1")]);
    expect(bw.err).toBe("");
    await createVolume(c.east, "e1", { name: "big", size: 96 * MiB, replicas: 3, target: "e1" });
    await writeAt(c.east, "big", [{ offset: 0, data: randomish(40 * MiB, "big-1") }]);
  }, 120_000);

  afterAll(async () => {
    await c.stop();
  });

  /** Waits until the destination holds extent `extent` durably (mid-stream, with progress to keep). */
  async function durableThrough(extent: number): Promise<number> {
    return pollUntil(
      async () => {
        const cur = (await c.west.store.get(mobilityKeys.cursor("big"), cursorRecordSchema))?.value.lastExtent ?? -1;
        return cur >= extent ? cur : undefined;
      },
      { what: `the destination's cursor at extent ${extent}`, timeoutMs: 60_000, intervalMs: 50 },
    ).catch(async (err: unknown) => {
      // What the run and both ends said, so a stalled run can be told from a slow one.
      const run = await runRecord(c.east, "big");
      const tails = ["e1", "e2", "e3"].map((n) => `${n}:\n${c.east.tail(n, 8)}`).concat(["w1", "w2"].map((n) => `${n}:\n${c.west.tail(n, 8)}`));
      throw new Error(`${err instanceof Error ? err.message : String(err)}; run: ${JSON.stringify(run)}\n${tails.join("\n")}`);
    });
  }

  async function resumeThrough(node: string): Promise<void> {
    // The killed node's lease must lapse before another may take its run over.
    let last = "";
    await pollUntil(
      async () => {
        const res = await cli(["mobility", "resume", "big", "--admin", c.east.admin(node)]);
        last = res.err;
        return res.code === 0 ? true : undefined;
      },
      { what: "resume accepted", timeoutMs: 30_000, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: ${last}`);
    });
  }

  async function expectIdentical(): Promise<void> {
    const run = await waitRunState(c.east, "big", ["completed"], 120_000);
    expect(run.error).toBeUndefined();
    expect(await nbdHash(c.west, "big", c.dir)).toBe(await nbdHash(c.east, "big", c.dir));
    const verified = await cli(["mobility", "verify", "big", "--admin", c.east.admin(run.node)]);
    expect(verified.out).toContain("identical on both sides");
  }

  it("resumes after the source's target node is killed mid-stream, resending less than an extent", async () => {
    expect((await cli(["mobility", "start", "big", "--peer", "west", "--admin", c.east.admin("e1")])).code).toBe(0);
    await durableThrough(3);
    await c.east.kill("e1");
    await resumeThrough("e2");
    await expectIdentical();
    const run = await runRecord(c.east, "big");
    expect(run?.attempts).toBe(2);
    expect(run?.node).toBe("e2");
    expect(run?.bytesResent).toBeLessThan(EXTENT);
    await c.east.startNode(c.east.node("e1").spec);
  }, 180_000);

  it("resumes after the destination's node is killed mid-stream", async () => {
    await writeAt(c.east, "big", [{ offset: 32 * MiB, data: randomish(32 * MiB, "big-2") }]);
    const started = await cli(["mobility", "start", "big", "--peer", "west", "--admin", c.east.admin("e2")]);
    expect(started.err).toBe("");
    await durableThrough(10);
    const target = (await c.west.volume("big"))?.target?.nodeId ?? "w1";
    await c.west.kill(target);
    await waitRunState(c.east, "big", ["failed"]);
    await c.west.startNode(c.west.node(target).spec);
    await resumeThrough("e2");
    await expectIdentical();
  }, 180_000);

  it("resumes after the link between the clusters is cut mid-stream", async () => {
    await writeAt(c.east, "big", [{ offset: 8 * MiB, data: randomish(28 * MiB, "big-3") }]);
    const started = await cli(["mobility", "start", "big", "--peer", "west", "--admin", c.east.admin("e2")]);
    expect(started.err).toBe("");
    await durableThrough(3);
    c.relay.cut();
    const failed = await waitRunState(c.east, "big", ["failed"]);
    expect(failed.error).toMatch(/closed|reset|ECONN|socket/i);
    c.relay.heal();
    await resumeThrough("e2");
    await expectIdentical();
  }, 180_000);
});
