/**
 * A real partition between the clusters. West (its etcd and both nodes) runs in
 * a network namespace of its own, joined to this one by a veth pair on a private
 * bridge (test/cluster/netns.ts); east runs here and reaches west's mobility
 * endpoints at the namespace's address, straight, without the test's relay.
 *
 * The link is cut by setting the bridge's end of the veth down: from then on
 * the bridge drops every frame towards the namespace and the namespace's end
 * has no carrier, so packets either way vanish. Neither end gets a FIN or an
 * RST, the routes stay, and ARP towards west goes unanswered, which TCP only
 * counts as soft errors: as with a pulled cable or a firewall dropping the
 * flow, the sockets stay open and TCP alone would retransmit for about 15
 * minutes (tcp_retries2=15) before either side heard of it.
 *
 * The run must fail with the sender's stall error within its limit for
 * acknowledgements, and once the link is back, resume to an identical copy.
 * Needs root with CAP_NET_ADMIN and iproute2; fails (never skips) without them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrivateEtcd } from "@stowage/testing/etcd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STALL_LIMITS } from "../../src/cluster/mobility/sender";
import { createTestNetwork, type TestNetwork } from "../cluster/netns";
import { cli, createVolume, MiB, randomish, startClusters, startEtcdIn, waitRunState, writeAt, type Clusters } from "./fixture";
import { durableThrough, expectIdentical, resumeThrough, tails } from "./run-steps";

describe("mobility: a link that silently stops carrying packets", () => {
  let net: TestNetwork | undefined;
  let westEtcd: PrivateEtcd | undefined;
  let c: Clusters | undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), "stowage-mobility-netns-"));

  beforeAll(async () => {
    // Named after this process (leftovers of a crashed run with the same pid are removed first).
    net = await createTestNetwork(1);
    const west = net.nodes[0];
    if (!west) throw new Error("no namespace for west");
    const wrap = ["ip", "netns", "exec", west.ns];
    westEtcd = await startEtcdIn(wrap, west.ip, dir);
    c = await startClusters({ eastNodes: [{ id: "e1" }, { id: "e2" }], direct: true, west: { wrap, host: west.ip, etcd: westEtcd } });
    // 8 MB/s: frames go in pieces of 2 MB and the cursor steps an extent at a time (faults.test.ts).
    const bw = await cli(["mobility", "peer", "bandwidth", "west", "--mbps", "8", "--admin", c.east.admin("e1")]);
    expect(bw.err).toBe("");
    await createVolume(c.east, "e1", { name: "cut", size: 64 * MiB, replicas: 2, target: "e1" });
    await writeAt(c.east, "cut", [{ offset: 0, data: randomish(40 * MiB, "cut-1") }]);
  }, 180_000);

  afterAll(async () => {
    // Each step even when an earlier one failed: the namespace and the bridge must not outlive the run.
    await c?.stop().catch(() => undefined);
    await westEtcd?.stop().catch(() => undefined);
    await net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails the run with the stall error within the sender's limit, then resumes to an identical copy once the link is back", async () => {
    if (!c || !net) throw new Error("setup failed");
    const clusters = c;
    const started = await cli(["mobility", "start", "cut", "--peer", "west", "--admin", clusters.east.admin("e1")]);
    expect(started.err).toBe("");
    await durableThrough(clusters, "cut", 3);

    const cutAt = Date.now();
    await net.cut(0);
    const failed = await waitRunState(clusters.east, "cut", ["failed"], STALL_LIMITS.ackMs + 40_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tails(clusters)}`);
    });
    const failedAfterMs = Date.now() - cutAt;
    expect(failed.error).toMatch(/mobility link to [\d.]+:\d+ stalled: no acknowledgement for \d+ s/);
    // The sender's limit (and the few seconds of frames the kernel still took after the cut), not TCP's 15 minutes.
    expect(failedAfterMs).toBeGreaterThanOrEqual(STALL_LIMITS.ackMs - 1_000);
    expect(failedAfterMs).toBeLessThan(STALL_LIMITS.ackMs + 30_000);

    await net.heal(0);
    await resumeThrough(clusters, "cut", "e1");
    await expectIdentical(clusters, "cut");
  }, 240_000);
});
