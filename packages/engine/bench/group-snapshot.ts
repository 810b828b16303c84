/**
 * Group snapshot benchmark (`npm run bench:group-snapshot [-- --groups N] [--json]`), on three
 * local cluster-mode node processes and a private etcd: three volumes whose targets are on three
 * different nodes, three writers each writing a sequence across them (as in the group snapshot
 * test), and N groups (default 20) taken under them through one node's admin API.
 *
 * Prints one JSON document with the `--group` section (the replication bench includes it):
 * the I/O pause of each group — from the first volume's hold to the last one's resume, on the
 * targets' clocks (one machine here, so exact) — p50, p95 and max over the groups, against the
 * 50 ms goal; each volume's own hold; the request's latency; and, from the nodes' logs, the
 * part of a hold spent on the flush and replica copies, and the volume record's
 * compare-and-swap in etcd, which now follows the resume. The machine's load average is
 * recorded beside them, as the figures are wall-clock times.
 */
import os from "node:os";
import { AdminClient } from "../src/admin/client";
import { scriptArgs, UsageError } from "../src/cli/args";
import { GroupSnapshotClient } from "../src/cluster/group-snapshot-client";
import { locator, TestCluster } from "../test/cluster/harness";
import { SequenceWriter } from "../test/cluster/sequence-writer";
import { percentile as nearestRank } from "@stowage/testing/stats";

const usage = `Usage: npm run bench:group-snapshot -- [--group] [--groups N] [--json]

  --group      the group snapshot section (the only one; on by default)
  --groups N   groups to take under the writers (default 20)
  --json       print the JSON document on one line`;

const settings = scriptArgs(
  { name: "bench:group-snapshot", usage, options: { group: { type: "boolean" }, groups: { type: "string" }, json: { type: "boolean" } } },
  ({ values }) => {
    const groups = values.groups === undefined ? 20 : Number(values.groups);
    if (!Number.isInteger(groups) || groups < 1 || groups > 60) throw new UsageError(`--groups takes a whole number from 1 to 60, got '${values.groups ?? ""}'`);
    return { groups, json: values.json === true };
  },
);

const VOLUMES = ["bench-a", "bench-b", "bench-c"];
const MiB = 1024 * 1024;
const GOAL_MS = 50;

/** The nearest-rank percentile, to a tenth of a millisecond. */
function percentile(values: number[], p: number): number {
  return Math.round(nearestRank(values, p) * 10) / 10;
}

function stats(values: number[]): { p50: number; p95: number; max: number } {
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: percentile(values, 100) };
}

/** `snapshotMs` and `recordMs` of the nodes' "group snapshot member taken" lines for the bench's groups. */
function breakdown(cluster: TestCluster): { snapshotMs: number[]; recordMs: number[] } {
  const out = { snapshotMs: [] as number[], recordMs: [] as number[] };
  for (const node of cluster.nodes.values()) {
    for (const line of node.log) {
      if (!line.includes('"group snapshot member taken"')) continue;
      const fields = JSON.parse(line) as { snapshot?: unknown; snapshotMs?: unknown; recordMs?: unknown };
      if (typeof fields.snapshot !== "string" || !fields.snapshot.startsWith("bench-")) continue;
      if (typeof fields.snapshotMs === "number") out.snapshotMs.push(fields.snapshotMs);
      if (typeof fields.recordMs === "number") out.recordMs.push(fields.recordMs);
    }
  }
  return out;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const cluster = await TestCluster.start({
  nodes: [
    { id: "g1", zone: "a" },
    { id: "g2", zone: "b" },
    { id: "g3", zone: "c" },
  ],
  leaseTtlSec: 3,
  quiet: true,
});
const writers: SequenceWriter[] = [];
try {
  const targets = ["g1", "g2", "g3"];
  for (const [i, v] of VOLUMES.entries()) {
    const target = targets[i] ?? "g1";
    await cluster.client(target).createVolume({ name: v, size: 64 * MiB, replicas: 2, target });
  }
  for (const v of VOLUMES) await cluster.waitAllInSync(v);
  const locate = (volume: string) => locator(cluster, volume)();
  for (let block = 0; block < 3; block++) writers.push(new SequenceWriter({ volumes: VOLUMES, block, locate, seed: 9_000 + block }));
  for (const w of writers) w.start();
  await Promise.all(writers.map((w) => w.waitSteps(20)));

  const groups = new GroupSnapshotClient(new AdminClient(cluster.admin("g1")));
  const groupPause: number[] = [];
  const volumePause: number[] = [];
  const requestMs: number[] = [];
  const load = os.loadavg()[0] ?? 0;
  for (let i = 1; i <= settings.groups; i++) {
    const started = performance.now();
    const g = await groups.create({ name: `bench-${i}`, volumes: VOLUMES });
    requestMs.push(performance.now() - started);
    if (g.pause.spanMs === undefined) throw new Error(`group ${g.name}: a target did not say when it resumed`);
    groupPause.push(g.pause.spanMs);
    for (const v of g.volumes) volumePause.push(v.pauseMs);
    log(`group ${i}: pause ${g.pause.spanMs} ms from the first hold to the last resume (volumes ${g.volumes.map((v) => `${v.volume} ${v.pauseMs}`).join(", ")})`);
    // The writers go on between groups, as they would between scheduled ones.
    await Promise.all(writers.map((w) => w.waitSteps(3)));
  }
  const steps = writers.map((w) => w.completed);
  for (let i = 1; i <= settings.groups; i++) await groups.delete(`bench-${i}`);
  const parts = breakdown(cluster);

  const pause = stats(groupPause);
  const result = {
    group: {
      groups: settings.groups,
      volumes: VOLUMES.length,
      targets: targets.length,
      writers: writers.length,
      /** Per group, from the first volume's hold to the last one's resume: what a writer across them can wait at most. */
      pauseMs: pause,
      goalMs: GOAL_MS,
      meetsGoal: pause.max < GOAL_MS,
      meetsGoalAtP50: pause.p50 < GOAL_MS,
      volumePauseMs: stats(volumePause),
      requestMs: stats(requestMs),
      /** On the target: flush + replica copies (inside the hold), and the volume record's compare-and-swap (after the resume). */
      snapshotMs: stats(parts.snapshotMs),
      recordMs: stats(parts.recordMs),
      writerSteps: steps,
      loadAverage1m: Math.round(load * 100) / 100,
      cores: os.cpus().length,
    },
  };
  process.stdout.write(settings.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.stop();
}
process.exit(0);
