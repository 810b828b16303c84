/**
 * Interrupted replication runs resume from what the destination acknowledged
 * and end in an identical copy: the source's target node killed (-9) mid-stream,
 * the destination's node killed (-9), the link between the clusters cut.
 *
 * Here the link is cut at the test's TCP relay, which closes every connection
 * across it: both ends see the close at once. A link that drops packets without
 * a word (no FIN, no RST), as a real partition does, is cut with network
 * namespaces in partition.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, createVolume, MiB, randomish, runRecord, startClusters, waitRunState, writeAt, type Clusters } from "./fixture";
import { durableThrough, expectIdentical, resumeThrough } from "./run-steps";

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

  it("resumes after the source's target node is killed mid-stream, resending less than an extent", async () => {
    expect((await cli(["mobility", "start", "big", "--peer", "west", "--admin", c.east.admin("e1")])).code).toBe(0);
    await durableThrough(c, "big", 3);
    await c.east.kill("e1");
    await resumeThrough(c, "big", "e2");
    await expectIdentical(c, "big");
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
    await durableThrough(c, "big", 10);
    const target = (await c.west.volume("big"))?.target?.nodeId ?? "w1";
    await c.west.kill(target);
    await waitRunState(c.east, "big", ["failed"]);
    await c.west.startNode(c.west.node(target).spec);
    await resumeThrough(c, "big", "e2");
    await expectIdentical(c, "big");
  }, 180_000);

  it("resumes after the link between the clusters is closed mid-stream", async () => {
    await writeAt(c.east, "big", [{ offset: 8 * MiB, data: randomish(28 * MiB, "big-3") }]);
    const started = await cli(["mobility", "start", "big", "--peer", "west", "--admin", c.east.admin("e2")]);
    expect(started.err).toBe("");
    await durableThrough(c, "big", 3);
    c.relay.cut();
    const failed = await waitRunState(c.east, "big", ["failed"]);
    expect(failed.error).toMatch(/closed|reset|ECONN|socket/i);
    c.relay.heal();
    await resumeThrough(c, "big", "e2");
    await expectIdentical(c, "big");
  }, 180_000);
});
