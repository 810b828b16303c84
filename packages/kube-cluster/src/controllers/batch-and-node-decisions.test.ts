import type { V1CronJob, V1DaemonSet, V1Job, V1Lease, V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { planCronJob } from "./cronjob";
import { controllerRevisionHashLabel, daemonPod, daemonSetHash, maxUnavailableOf, planDaemonSet, shouldRunOn, targetNode } from "./daemonset";
import { planJob } from "./job";
import { evictionTime, planNode } from "./node-lifecycle";
import { timestampAt } from "../shared/objects";

const T0 = Date.parse("2026-03-04T10:00:00Z");
const ts = (ms: number) => timestampAt(ms);

describe("daemonset decision", () => {
  const node = (name: string, extra: Partial<V1Node> = {}): V1Node => ({ metadata: { name, labels: { role: "storage", ...extra.metadata?.labels } }, spec: extra.spec ?? {} });
  const ds: V1DaemonSet = {
    metadata: { name: "agent", namespace: "sys", uid: "ds", generation: 1 },
    spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "c", image: "v1" }], nodeSelector: { role: "storage" } } } },
  };
  const podFor = (d: V1DaemonSet, nodeName: string, name: string, ready = true): V1Pod => ({ ...daemonPod(d, nodeName, name), status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } });

  it("runs on nodes matching its selector whose taints it tolerates, including the lifecycle taints daemon pods get", () => {
    expect(shouldRunOn(ds, node("a"))).toBe(true);
    expect(shouldRunOn(ds, node("b", { metadata: { labels: { role: "web" } } }))).toBe(false);
    expect(shouldRunOn(ds, node("c", { spec: { taints: [{ key: "dedicated", effect: "NoSchedule" }] } }))).toBe(false);
    expect(shouldRunOn(ds, node("d", { spec: { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] } }))).toBe(true);
    const pod = daemonPod(ds, "a", "agent-x");
    expect(targetNode(pod)).toBe("a");
    expect(pod.metadata?.labels?.[controllerRevisionHashLabel]).toBe(daemonSetHash(ds));
  });

  it("creates a pod per missing node, deletes extras and misplaced ones, and counts status", () => {
    const nodes = [node("a"), node("b"), node("web", { metadata: { labels: { role: "web" } } })];
    const owned = [podFor(ds, "a", "agent-1"), podFor(ds, "a", "agent-2"), podFor(ds, "web", "agent-3", false)];
    const plan = planDaemonSet(ds, nodes, owned);
    expect(plan.actions).toEqual(expect.arrayContaining([{ type: "create", node: "b" }, { type: "delete", pod: "agent-2" }, { type: "delete", pod: "agent-3" }]));
    expect(plan.actions).toHaveLength(3);
    expect(plan.status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 1, numberMisscheduled: 1, numberReady: 1, numberUnavailable: 1, updatedNumberScheduled: 1 });
  });

  it("keeps a running pod on a node that got a NoSchedule taint later, but puts no new one there", () => {
    const cordoned = node("a", { spec: { taints: [{ key: "maintenance", effect: "NoSchedule" }] } });
    expect(planDaemonSet(ds, [cordoned], [podFor(ds, "a", "agent-1")]).actions).toEqual([]);
    expect(planDaemonSet(ds, [cordoned], []).actions).toEqual([]);
    const evicting = node("a", { spec: { taints: [{ key: "maintenance", effect: "NoExecute" }] } });
    expect(planDaemonSet(ds, [evicting], [podFor(ds, "a", "agent-1")]).actions).toEqual([{ type: "delete", pod: "agent-1" }]);
  });

  it("rolls a new template out at most maxUnavailable ready pods at a time, not-ready old ones first", () => {
    const nodes = [node("a"), node("b"), node("c"), node("d")];
    const old = [podFor(ds, "a", "o-a"), podFor(ds, "b", "o-b"), podFor(ds, "c", "o-c", false), podFor(ds, "d", "o-d")];
    const v2: V1DaemonSet = { ...ds, metadata: { ...ds.metadata, generation: 2 }, spec: { ...ds.spec, selector: ds.spec?.selector ?? {}, template: { ...ds.spec?.template, spec: { containers: [{ name: "c", image: "v2" }], nodeSelector: { role: "storage" } } }, updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 2 } } } };
    const deletes = planDaemonSet(v2, nodes, old).actions.filter((a) => a.type === "delete").map((a) => (a.type === "delete" ? a.pod : ""));
    // o-c is unavailable already: it goes, and one ready pod fits in the budget of 2.
    expect(deletes).toEqual(["o-c", "o-a"]);
    const onDelete: V1DaemonSet = { ...v2, spec: { ...v2.spec, selector: ds.spec?.selector ?? {}, template: v2.spec?.template ?? {}, updateStrategy: { type: "OnDelete" } } };
    expect(planDaemonSet(onDelete, nodes, old).actions).toEqual([]);
    expect(maxUnavailableOf({ spec: { selector: {}, template: {}, updateStrategy: { rollingUpdate: { maxUnavailable: "25%" } } } }, 10)).toBe(3);
    expect(maxUnavailableOf({ spec: { selector: {}, template: {} } }, 10)).toBe(1);
  });
});

describe("job decision", () => {
  const job = (spec: Partial<NonNullable<V1Job["spec"]>>, status?: V1Job["status"]): V1Job => ({ metadata: { name: "j", namespace: "ns", uid: "j" }, spec: { template: { spec: { containers: [], restartPolicy: "Never" } }, ...spec }, ...(status ? { status } : {}) });
  const pod = (name: string, phase: string, created = 0): V1Pod => ({ metadata: { name, creationTimestamp: ts(T0 + created) }, status: { phase } });

  it("starts up to parallelism pods, never more than the completions left", () => {
    expect(planJob(job({ completions: 5, parallelism: 2 }), [], T0).actions).toEqual([{ type: "createPods", count: 2 }]);
    const plan = planJob(job({ completions: 3, parallelism: 2 }), [pod("a", "Succeeded"), pod("b", "Succeeded"), pod("c", "Running")], T0);
    expect(plan.actions).toEqual([]);
    expect(plan.status).toMatchObject({ active: 1, succeeded: 2, failed: 0 });
    expect(planJob(job({}), [], T0).actions).toEqual([{ type: "createPods", count: 1 }]);
  });

  it("completes at `completions` successes with a Complete condition and completionTime", () => {
    const plan = planJob(job({ completions: 2, parallelism: 2 }), [pod("a", "Succeeded"), pod("b", "Succeeded")], T0);
    expect(plan.status.conditions).toEqual([expect.objectContaining({ type: "Complete", status: "True" })]);
    expect(plan.status.completionTime).toBe(ts(T0));
    // Without completions: done once one succeeded and none still runs.
    expect(planJob(job({ parallelism: 2 }), [pod("a", "Succeeded"), pod("b", "Running")], T0).status.conditions).toBeUndefined();
    expect(planJob(job({ parallelism: 2 }), [pod("a", "Succeeded"), pod("b", "Failed")], T0).status.conditions).toEqual([expect.objectContaining({ type: "Complete" })]);
  });

  it("replaces failed pods until more than backoffLimit failed, then fails and deletes the running ones", () => {
    const retry = planJob(job({ backoffLimit: 2 }), [pod("a", "Failed"), pod("b", "Failed")], T0);
    expect(retry.actions).toEqual([{ type: "createPods", count: 1 }]);
    expect(retry.status.failed).toBe(2);
    const over = planJob(job({ backoffLimit: 2, parallelism: 2, completions: 4 }), [pod("a", "Failed"), pod("b", "Failed"), pod("c", "Failed"), pod("d", "Running")], T0);
    expect(over.actions).toEqual([{ type: "deletePods", names: ["d"] }]);
    expect(over.status.conditions).toEqual([expect.objectContaining({ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" })]);
  });

  it("fails past activeDeadlineSeconds and deletes a finished Job after ttlSecondsAfterFinished", () => {
    const started = job({ activeDeadlineSeconds: 60 }, { startTime: ts(T0) });
    expect(planJob(started, [pod("a", "Running")], T0 + 30_000).actions).toEqual([{ type: "requeueAfter", ms: 30_000 }]);
    expect(planJob(started, [pod("a", "Running")], T0 + 60_000).status.conditions).toEqual([expect.objectContaining({ type: "Failed", reason: "DeadlineExceeded" })]);
    const done = job({ ttlSecondsAfterFinished: 100 }, { startTime: ts(T0), conditions: [{ type: "Complete", status: "True", lastTransitionTime: ts(T0) }] });
    expect(planJob(done, [pod("a", "Succeeded")], T0 + 40_000).actions).toEqual([{ type: "requeueAfter", ms: 60_000 }]);
    expect(planJob(done, [pod("a", "Succeeded")], T0 + 100_000).actions).toEqual([{ type: "deleteJob" }]);
  });
});

describe("cronjob decision", () => {
  const cron = (spec: Partial<NonNullable<V1CronJob["spec"]>>, status?: V1CronJob["status"]): V1CronJob => ({
    metadata: { name: "backup", namespace: "ns", uid: "cj", creationTimestamp: ts(T0) },
    spec: { schedule: "*/5 * * * *", jobTemplate: { metadata: { labels: { app: "backup" } }, spec: { template: { spec: { containers: [] } } } }, ...spec },
    ...(status ? { status } : {}),
  });
  const job = (minute: number, state?: "Complete" | "Failed"): V1Job => ({
    metadata: { name: `backup-${Math.floor(T0 / 60_000) + minute}`, uid: `job-${minute}`, creationTimestamp: ts(T0 + minute * 60_000) },
    status: { startTime: ts(T0 + minute * 60_000), ...(state ? { conditions: [{ type: state, status: "True" }], ...(state === "Complete" ? { completionTime: ts(T0 + minute * 60_000 + 30_000) } : {}) } : {}) },
  });
  const created = (p: ReturnType<typeof planCronJob>) => p.actions.flatMap((a) => (a.type === "createJob" ? [a.job.metadata?.name] : []));

  it("creates the Job for the most recent scheduled time, named by its unix minute, and says when to look again", () => {
    const plan = planCronJob(cron({}), [], T0 + 11 * 60_000);
    expect(created(plan)).toEqual([`backup-${Math.floor(T0 / 60_000) + 10}`]);
    const createAction = plan.actions.find((a) => a.type === "createJob");
    expect(createAction?.type === "createJob" && createAction.job.metadata?.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"]).toBe("2026-03-04T10:10:00Z");
    expect(plan.lastScheduleTime).toBe(T0 + 10 * 60_000);
    expect(plan.requeueAfterMs).toBe(4 * 60_000);
    expect(created(planCronJob(cron({}), [], T0 + 4 * 60_000))).toEqual([]);
  });

  it("honours concurrencyPolicy Forbid and Replace, and Allow runs side by side", () => {
    const running = [job(5)];
    const status = { lastScheduleTime: ts(T0 + 5 * 60_000), active: [{ uid: "job-5" }] };
    expect(created(planCronJob(cron({ concurrencyPolicy: "Forbid" }, status), running, T0 + 10 * 60_000))).toEqual([]);
    const replace = planCronJob(cron({ concurrencyPolicy: "Replace" }, status), running, T0 + 10 * 60_000);
    expect(replace.actions[0]).toEqual({ type: "deleteJob", name: running[0]?.metadata?.name, reason: "replace" });
    expect(created(replace)).toHaveLength(1);
    expect(created(planCronJob(cron({}, status), running, T0 + 10 * 60_000))).toHaveLength(1);
  });

  it("skips a time older than startingDeadlineSeconds, and does nothing while suspended", () => {
    const late = planCronJob(cron({ startingDeadlineSeconds: 30 }), [], T0 + 6 * 60_000);
    expect(created(late)).toEqual([]);
    expect(late.actions).toEqual([expect.objectContaining({ type: "event", reason: "MissSchedule" })]);
    expect(created(planCronJob(cron({ startingDeadlineSeconds: 120 }), [], T0 + 6 * 60_000))).toHaveLength(1);
    expect(planCronJob(cron({ suspend: true }), [], T0 + 60 * 60_000).actions).toEqual([]);
  });

  it("keeps successfulJobsHistoryLimit and failedJobsHistoryLimit finished Jobs, deleting the oldest", () => {
    const owned = [job(0, "Complete"), job(5, "Complete"), job(10, "Complete"), job(15, "Failed"), job(20, "Failed")];
    const plan = planCronJob(cron({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }, { lastScheduleTime: ts(T0 + 20 * 60_000) }), owned, T0 + 21 * 60_000);
    expect(plan.actions.filter((a) => a.type === "deleteJob")).toEqual([{ type: "deleteJob", name: owned[0]?.metadata?.name, reason: "history" }, { type: "deleteJob", name: owned[3]?.metadata?.name, reason: "history" }]);
    expect(plan.lastSuccessfulTime).toBe(T0 + 10 * 60_000 + 30_000);
    expect(plan.active).toEqual([]);
  });

  it("reports a time zone other than UTC instead of running at the wrong hour", () => {
    expect(planCronJob(cron({ timeZone: "Etc/UTC" }), [], T0 + 11 * 60_000).actions.filter((a) => a.type === "createJob")).toHaveLength(1);
    expect(planCronJob(cron({ timeZone: "Europe/Paris" }), [], T0 + 11 * 60_000).actions).toEqual([expect.objectContaining({ type: "event", reason: "UnknownTimeZone" })]);
  });

  it("reports an invalid schedule instead of running", () => {
    const plan = planCronJob(cron({ schedule: "61 * * * *" }), [], T0 + 60 * 60_000);
    expect(plan.actions).toEqual([{ type: "event", eventType: "Warning", reason: "InvalidSchedule", message: "invalid schedule: 61 * * * * : minute: 61 is out of range 0-59" }]);
  });
});

describe("node lifecycle decision", () => {
  const ready = (heartbeat: number): V1Node => ({ metadata: { name: "n", creationTimestamp: ts(T0 - 3_600_000) }, spec: {}, status: { conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: ts(heartbeat), lastTransitionTime: ts(heartbeat) }] } });
  const lease = (renew: number): V1Lease => ({ metadata: { name: "n", namespace: "kube-node-lease" }, spec: { renewTime: ts(renew) } });

  it("marks a node whose Lease was not renewed within the grace period Unknown, then taints it unreachable", () => {
    expect(planNode(ready(T0), lease(T0 + 30_000), T0 + 60_000, 40_000)).toEqual({ conditions: undefined, taints: undefined, ready: "True" });
    const stale = planNode(ready(T0), lease(T0), T0 + 41_000, 40_000);
    expect(stale.conditions).toEqual([expect.objectContaining({ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." })]);
    expect(stale.taints).toEqual([{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }, { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: ts(T0 + 41_000) }]);
    // Back: the kubelet reported Ready again; the lifecycle taints go.
    const tainted: V1Node = { ...ready(T0 + 50_000), spec: { taints: stale.taints ?? [] } };
    expect(planNode(tainted, lease(T0 + 50_000), T0 + 51_000, 40_000).taints).toEqual([]);
  });

  it("evicts after the toleration time: untolerated at once, default 300 s, tolerationSeconds, forever without seconds", () => {
    const taints = [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: ts(T0) }];
    const pod = (tolerations: NonNullable<V1Pod["spec"]>["tolerations"]): V1Pod => ({ spec: { containers: [], ...(tolerations ? { tolerations } : {}) } });
    expect(evictionTime(pod(undefined), taints, T0, 300)).toBe(T0 + 300_000);
    expect(evictionTime(pod([{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 }]), taints, T0, 300)).toBe(T0 + 10_000);
    expect(evictionTime(pod([{ operator: "Exists" }]), taints, T0, 300)).toBeUndefined();
    expect(evictionTime(pod(undefined), [...taints, { key: "gpu-broken", effect: "NoExecute", timeAdded: ts(T0 + 5_000) }], T0 + 6_000, 300)).toBe(T0 + 5_000);
    expect(evictionTime(pod(undefined), [{ key: "x", effect: "NoSchedule" }], T0, 300)).toBeUndefined();
  });
});
