/**
 * DaemonSet, Job, CronJob and node lifecycle controllers against the real API server, with a test
 * clock: schedules, TTLs, grace periods and toleration times pass when the test moves the clock.
 */
import type { CoreV1Event, V1CronJob, V1DaemonSet, V1Job, V1Node, V1Pod } from "@kubernetes/client-node";
import { V1MicroTime } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "./index";
import { resources } from "../shared/resources";
import { container, createNamespace, listNames, startTestCluster, waitFor, type TestCluster } from "./testing/cluster";

let cluster: TestCluster;
let controllers: RunningControllers;
/** The controllers' clock; starts at the wall clock, moved forward by the tests. */
let clock = Date.now();

beforeAll(async () => {
  cluster = await startTestCluster();
  controllers = await startControllers({
    kubeconfig: cluster.kubeconfig,
    controllers: ["daemonset", "job", "cronjob", "nodelifecycle", "garbagecollector"],
    now: () => clock,
    cronJob: { resyncMs: 100 },
    nodeLifecycle: { gracePeriodMs: 40_000, monitorPeriodMs: 100, defaultTolerationSeconds: 300 },
  });
});

afterAll(async () => {
  await controllers.stop();
  await cluster.stop();
});

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

async function createNode(name: string, labels: Record<string, string>, taints: NonNullable<V1Node["spec"]>["taints"] = []): Promise<void> {
  await cluster.client.create(resources.nodes, undefined, { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } }, spec: { taints } });
  await cluster.client.mergePatch(resources.nodes, undefined, name, { status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: iso(clock), lastTransitionTime: iso(clock) }] } }, "status");
}

async function setPodStatus(ns: string, name: string, status: object): Promise<void> {
  await cluster.client.mergePatch(resources.pods, ns, name, { status }, "status");
}

const readyStatus = () => ({ phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(Date.now()) }] });

describe("daemonset controller", () => {
  it("runs one pod per matching node, pinned by affinity, and rolls a template change out while keeping status", async () => {
    const ns = "ds";
    const client = cluster.client;
    await createNamespace(client, ns);
    await createNode("ds-a", { pool: "storage" });
    await createNode("ds-b", { pool: "storage" });
    await createNode("ds-web", { pool: "web" });
    await createNode("ds-tainted", { pool: "storage" }, [{ key: "dedicated", value: "db", effect: "NoSchedule" }]);
    const ds: V1DaemonSet = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        template: { metadata: { labels: { app: "agent" } }, spec: { containers: [container], nodeSelector: { pool: "storage" } } },
      },
    };
    await client.create(resources.daemonSets, ns, ds);
    const pods = await waitFor("two daemon pods", async () => {
      const items = (await client.list<V1Pod>(resources.pods, ns)).items;
      return items.length === 2 && items;
    });
    const pinned = pods.map((p) => p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0]).sort();
    expect(pinned).toEqual(["ds-a", "ds-b"]);
    expect(pods[0]?.spec?.tolerations).toEqual(expect.arrayContaining([{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" }]));
    for (const p of pods) await setPodStatus(ns, p.metadata?.name ?? "", readyStatus());
    await waitFor("status counts", async () => {
      const s = (await client.get<V1DaemonSet>(resources.daemonSets, ns, "agent")).status;
      return s?.desiredNumberScheduled === 2 && s.currentNumberScheduled === 2 && s.numberReady === 2 && s.updatedNumberScheduled === 2 && s.numberMisscheduled === 0;
    });

    // New template: one pod at a time (maxUnavailable 1) is replaced; the test plays the kubelet making new pods Ready.
    await client.mergePatch(resources.daemonSets, ns, "agent", { spec: { template: { spec: { containers: [{ ...container, image: "registry.example/app:2" }] } } } });
    const seenAtOnce: number[] = [];
    await waitFor("both pods on the new template and Ready", async () => {
      const items = (await client.list<V1Pod>(resources.pods, ns)).items.filter((p) => !p.metadata?.deletionTimestamp);
      seenAtOnce.push(items.filter((p) => p.spec?.containers[0]?.image === "registry.example/app:2").length);
      for (const p of items) if (p.status?.phase !== "Running") await setPodStatus(ns, p.metadata?.name ?? "", readyStatus());
      const s = (await client.get<V1DaemonSet>(resources.daemonSets, ns, "agent")).status;
      return items.length === 2 && items.every((p) => p.spec?.containers[0]?.image === "registry.example/app:2") && s?.updatedNumberScheduled === 2 && s.numberReady === 2;
    });
    expect(seenAtOnce).toContain(1);
  });
});

describe("job controller", () => {
  it("runs completions one at a time to Complete, then removes the Job after ttlSecondsAfterFinished", async () => {
    const ns = "job";
    const client = cluster.client;
    await createNamespace(client, ns);
    const job: V1Job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate" }, spec: { completions: 2, parallelism: 1, ttlSecondsAfterFinished: 30, template: { spec: { containers: [container], restartPolicy: "Never" } } } };
    await client.create(resources.jobs, ns, job);
    for (let i = 1; i <= 2; i++) {
      const running = await waitFor(`pod ${i}`, async () => {
        const items = (await client.list<V1Pod>(resources.pods, ns, { labelSelector: "batch.kubernetes.io/job-name=migrate" })).items;
        const active = items.filter((p) => p.status?.phase !== "Succeeded");
        return items.length === i && active.length === 1 && active[0];
      });
      expect(running.metadata?.labels?.["batch.kubernetes.io/controller-uid"]).toBeTruthy();
      await setPodStatus(ns, running.metadata?.name ?? "", { phase: "Succeeded" });
    }
    const done = await waitFor("Complete", async () => {
      const j = await client.get<V1Job>(resources.jobs, ns, "migrate");
      return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") && j;
    });
    expect(done.status).toMatchObject({ succeeded: 2, failed: 0, active: 0 });
    expect(done.status?.completionTime).toBeTruthy();
    expect(await listNames(client, resources.jobs, ns)).toEqual(["migrate"]);
    clock += 31_000;
    // Nothing else touches the Job: poke it so the controller looks at it with the moved clock.
    await client.mergePatch(resources.jobs, ns, "migrate", { metadata: { labels: { poked: "1" } } });
    await waitFor("Job deleted by its TTL", async () => (await listNames(client, resources.jobs, ns)).length === 0);
  });

  it("fails a Job whose pods failed more than backoffLimit times, with BackoffLimitExceeded", async () => {
    const ns = "job-fail";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.jobs, ns, { apiVersion: "batch/v1", kind: "Job", metadata: { name: "flaky" }, spec: { backoffLimit: 1, template: { spec: { containers: [container], restartPolicy: "Never" } } } });
    for (let i = 1; i <= 2; i++) {
      const pod = await waitFor(`attempt ${i}`, async () => (await client.list<V1Pod>(resources.pods, ns)).items.find((p) => p.status?.phase !== "Failed"));
      await setPodStatus(ns, pod.metadata?.name ?? "", { phase: "Failed" });
    }
    const failed = await waitFor("Failed condition", async () => (await client.get<V1Job>(resources.jobs, ns, "flaky")).status?.conditions?.find((c) => c.type === "Failed"));
    expect(failed).toMatchObject({ status: "True", reason: "BackoffLimitExceeded" });
    expect((await client.list<V1Pod>(resources.pods, ns)).items).toHaveLength(2);
  });
});

describe("cronjob controller", () => {
  it("creates a Job per scheduled time as the clock moves, forbids overlap, and keeps the history limit", async () => {
    const ns = "cron";
    const client = cluster.client;
    await createNamespace(client, ns);
    const cj: V1CronJob = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "backup" },
      spec: { schedule: "*/5 * * * *", concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 1, jobTemplate: { spec: { template: { spec: { containers: [container], restartPolicy: "Never" } } } } },
    };
    const created = await client.create<V1CronJob>(resources.cronJobs, ns, cj);
    const start = Date.parse(String(created.metadata?.creationTimestamp));
    const nextFive = (after: number) => Math.floor(after / 300_000) * 300_000 + 300_000;
    const first = nextFive(Math.max(start, clock));
    clock = first + 10_000;
    const firstName = `backup-${first / 60_000}`;
    await waitFor("the first Job", async () => (await listNames(client, resources.jobs, ns)).includes(firstName));
    const cron = await waitFor("status.active", async () => {
      const c = await client.get<V1CronJob>(resources.cronJobs, ns, "backup");
      return (c.status?.active ?? []).length === 1 && c;
    });
    expect(cron.status?.lastScheduleTime).toBe(iso(first));

    // Forbid: the next time comes while the first Job runs — no second Job.
    clock = first + 300_000 + 10_000;
    const skipped = await waitFor("JobAlreadyActive", async () => (await client.list<CoreV1Event>(resources.events, ns, { fieldSelector: "involvedObject.name=backup" })).items.find((e) => e.reason === "JobAlreadyActive"));
    expect(skipped.message).toBe("Not starting job because prior execution is running and concurrency policy is Forbid");
    expect(await listNames(client, resources.jobs, ns)).toEqual([firstName]);
    expect((await client.get<V1CronJob>(resources.cronJobs, ns, "backup")).status?.lastScheduleTime).toBe(iso(first));

    // Forbid delays rather than skips: once the first finishes, the missed time (still within no deadline) runs.
    await client.mergePatch(resources.jobs, ns, firstName, { status: { startTime: iso(first), completionTime: iso(first + 60_000), conditions: [{ type: "Complete", status: "True", lastTransitionTime: iso(first + 60_000) }], succeeded: 1 } }, "status");
    const secondName = `backup-${(first + 300_000) / 60_000}`;
    await waitFor("the delayed second Job", async () => (await listNames(client, resources.jobs, ns)).includes(secondName));
    const after = await waitFor("status after the second Job", async () => {
      const c = await client.get<V1CronJob>(resources.cronJobs, ns, "backup");
      return c.status?.lastSuccessfulTime !== undefined && c.status.active?.[0]?.name === secondName && c;
    });
    expect(after.status?.lastScheduleTime).toBe(iso(first + 300_000));
    expect(after.status?.lastSuccessfulTime).toBe(iso(first + 60_000));

    // The second finishes: with successfulJobsHistoryLimit 1 the first goes; the next time runs a third.
    await client.mergePatch(resources.jobs, ns, secondName, { status: { startTime: iso(first + 300_000), completionTime: iso(first + 360_000), conditions: [{ type: "Complete", status: "True", lastTransitionTime: iso(first + 360_000) }], succeeded: 1 } }, "status");
    await waitFor("history limit 1 keeps only the newest finished Job", async () => {
      const names = await listNames(client, resources.jobs, ns);
      return names.length === 1 && names[0] === secondName;
    });
    clock = first + 600_000 + 10_000;
    const thirdName = `backup-${(first + 600_000) / 60_000}`;
    await waitFor("the third Job", async () => (await listNames(client, resources.jobs, ns)).includes(thirdName));
  });
});

describe("node lifecycle controller", () => {
  it("marks a node whose Lease stopped Unknown with the unreachable taint, and evicts its pods after their toleration time", async () => {
    const ns = "nodes";
    const client = cluster.client;
    await createNamespace(client, ns);
    await client.create(resources.namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-node-lease" } }).catch(() => undefined);
    await createNode("gone", {});
    const renew = new V1MicroTime(clock);
    await client.create(resources.leases, "kube-node-lease", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "gone" }, spec: { holderIdentity: "gone", leaseDurationSeconds: 40, renewTime: renew } });
    const pod = (name: string, tolerations?: NonNullable<V1Pod["spec"]>["tolerations"]): V1Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName: "gone", containers: [container], ...(tolerations ? { tolerations } : {}) } });
    await client.create(resources.pods, ns, pod("plain"));
    await client.create(resources.pods, ns, pod("short", [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 }]));
    await client.create(resources.pods, ns, pod("forever", [{ operator: "Exists" }]));
    for (const name of ["plain", "short", "forever"]) await setPodStatus(ns, name, readyStatus());

    clock += 50_000;
    const tainted = await waitFor("unreachable taint", async () => {
      const n = await client.get<V1Node>(resources.nodes, undefined, "gone");
      return n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute") && n;
    });
    expect(tainted.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." });
    await waitFor("pods marked not Ready", async () => (await client.get<V1Pod>(resources.pods, ns, "plain")).status?.conditions?.some((c) => c.type === "Ready" && c.status === "False"));
    const deleting = async (name: string) => (await client.get<V1Pod>(resources.pods, ns, name)).metadata?.deletionTimestamp !== undefined;
    expect(await deleting("short")).toBe(false);

    clock += 11_000;
    await waitFor("short evicted after its 10 s", () => deleting("short"));
    expect(await deleting("plain")).toBe(false);
    const eviction = (await client.list<CoreV1Event>(resources.events, ns, { fieldSelector: "involvedObject.name=short" })).items.find((e) => e.reason === "TaintManagerEviction");
    expect(eviction?.message).toBe(`Marking for deletion Pod ${ns}/short`);

    clock += 300_000;
    await waitFor("plain evicted after the default 300 s", () => deleting("plain"));
    expect(await deleting("forever")).toBe(false);
  });
});
