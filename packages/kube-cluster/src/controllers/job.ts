/**
 * Job → pods `<job>-<5 chars>` (NonIndexed completion mode): up to `parallelism` at once until
 * `completions` succeeded (without completions: until one succeeded and none runs); each failed pod
 * counts against `backoffLimit`, past which (or past activeDeadlineSeconds) the Job fails and its
 * running pods are deleted. Complete/Failed conditions, the counts and times in status; then
 * ttlSecondsAfterFinished (the TTL-after-finished controller's part) deletes the finished Job.
 */
import type { V1Job, V1JobCondition, V1JobStatus, V1Pod } from "@kubernetes/client-node";
import { isNotFound, timeOf } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { Expectations } from "../shared/expectations";
import { randomSuffix } from "../shared/names";
import { controllerRef, isControlledBy, isDeleting, isPodReady, timestampAt } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { createExpected, enqueueController, expectationsMet } from "../shared/owned";

export const jobNameLabel = "batch.kubernetes.io/job-name";
export const controllerUidLabel = "batch.kubernetes.io/controller-uid";

export type JobAction =
  | { type: "createPods"; count: number }
  | { type: "deletePods"; names: string[] }
  | { type: "deleteJob" }
  /** Look again at this many ms from now (a deadline or a TTL that has not passed yet). */
  | { type: "requeueAfter"; ms: number };

export interface JobPlan {
  actions: JobAction[];
  status: V1JobStatus;
}

export function jobFinished(job: V1Job): "Complete" | "Failed" | undefined {
  for (const c of job.status?.conditions ?? []) if ((c.type === "Complete" || c.type === "Failed") && c.status === "True") return c.type;
  return undefined;
}

/** The decision for one Job from the pods it controls at `now` (ms). */
export function planJob(job: V1Job, owned: readonly V1Pod[], now: number): JobPlan {
  const active = owned.filter((p) => !isDeleting(p) && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const succeeded = owned.filter((p) => p.status?.phase === "Succeeded").length;
  const failed = owned.filter((p) => p.status?.phase === "Failed").length;
  const previous = job.status ?? {};
  const status: V1JobStatus = {
    ...previous,
    active: active.length,
    succeeded,
    failed,
    ready: active.filter(isPodReady).length,
    startTime: previous.startTime ?? timestampAt(now),
  };
  const actions: JobAction[] = [];
  const finished = jobFinished(job);
  if (finished !== undefined) {
    // Already decided; only the TTL is left (and stray pods of a failed Job).
    if (finished === "Failed" && active.length > 0) actions.push({ type: "deletePods", names: active.map((p) => p.metadata?.name ?? "") });
    actions.push(...ttlActions(job, now));
    return { actions, status: { ...status, conditions: previous.conditions } };
  }
  if (isDeleting(job)) return { actions, status };

  const backoffLimit = job.spec?.backoffLimit ?? 6;
  const deadline = job.spec?.activeDeadlineSeconds;
  const started = timeOf(status.startTime) ?? now;
  const completions = job.spec?.completions;
  const parallelism = job.spec?.parallelism ?? 1;
  let failure: { reason: string; message: string } | undefined;
  if (failed > backoffLimit) failure = { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
  else if (deadline !== undefined && now >= started + deadline * 1000) failure = { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" };
  const complete = completions === undefined ? succeeded > 0 && active.length === 0 : succeeded >= completions;

  if (failure !== undefined) {
    if (active.length > 0) actions.push({ type: "deletePods", names: active.map((p) => p.metadata?.name ?? "") });
    status.conditions = [...(previous.conditions ?? []), condition("Failed", failure.reason, failure.message, now)];
    status.active = 0;
    actions.push(...ttlActions({ ...job, status }, now));
    return { actions, status };
  }
  if (complete) {
    status.conditions = [...(previous.conditions ?? []), condition("Complete", "", "", now)];
    status.completionTime = timestampAt(now);
    actions.push(...ttlActions({ ...job, status }, now));
    return { actions, status };
  }
  // Without completions, once one pod succeeded no new ones start: the rest finish on their own.
  const wantActive = completions === undefined ? (succeeded > 0 ? 0 : parallelism) : Math.min(parallelism, completions - succeeded);
  if (active.length < wantActive) actions.push({ type: "createPods", count: wantActive - active.length });
  else if (active.length > wantActive) {
    const newestFirst = [...active].sort((a, b) => (timeOf(b.metadata?.creationTimestamp) ?? 0) - (timeOf(a.metadata?.creationTimestamp) ?? 0));
    actions.push({ type: "deletePods", names: newestFirst.slice(0, active.length - wantActive).map((p) => p.metadata?.name ?? "") });
  }
  if (deadline !== undefined) actions.push({ type: "requeueAfter", ms: Math.max(0, started + deadline * 1000 - now) });
  return { actions, status };
}

function condition(type: "Complete" | "Failed", reason: string, message: string, now: number): V1JobCondition {
  return { type, status: "True", ...(reason ? { reason } : {}), ...(message ? { message } : {}), lastProbeTime: timestampAt(now), lastTransitionTime: timestampAt(now) };
}

/** ttlSecondsAfterFinished: delete once that long past the finishing condition's time, else look again then. */
function ttlActions(job: V1Job, now: number): JobAction[] {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || isDeleting(job)) return [];
  const done = (job.status?.conditions ?? []).find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  const at = timeOf(done?.lastTransitionTime) ?? now;
  const expires = at + ttl * 1000;
  return now >= expires ? [{ type: "deleteJob" }] : [{ type: "requeueAfter", ms: expires - now }];
}

export function jobPod(job: V1Job, name: string): V1Pod {
  const template = job.spec?.template;
  const uid = job.metadata?.uid ?? "";
  const jobName = job.metadata?.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: job.metadata?.namespace,
      labels: { ...(template?.metadata?.labels ?? {}), [controllerUidLabel]: uid, [jobNameLabel]: jobName, "controller-uid": uid, "job-name": jobName },
      ...(template?.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerRef(job)],
    },
    spec: template?.spec ?? { containers: [] },
  };
}

function sameStatus(a: V1JobStatus | undefined, b: V1JobStatus): boolean {
  const fields = ["active", "succeeded", "failed", "ready"] as const;
  if (fields.some((f) => (a?.[f] ?? 0) !== (b[f] ?? 0))) return false;
  if ((a?.startTime === undefined) !== (b.startTime === undefined)) return false;
  return (a?.conditions ?? []).length === (b.conditions ?? []).length;
}

export class JobController implements Controller {
  readonly name = "job";
  private readonly queue: WorkQueue;
  private readonly expectations = new Expectations();
  private readonly jobs;
  private readonly pods;
  private readonly recorder;

  constructor(private readonly ctx: ControllerContext) {
    this.jobs = ctx.informers.for<V1Job>(resources.jobs);
    this.pods = ctx.informers.for<V1Pod>(resources.pods);
    this.recorder = ctx.recorder("job-controller");
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "job sync failed", { key, err: String(err) }));
  }

  async start(): Promise<void> {
    this.jobs.onChange((j) => this.queue.add(keyOf(j.metadata)));
    this.pods.onChange(enqueueController(this.queue, "Job"));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const job = this.jobs.get(name, namespace);
    if (!job) {
      this.expectations.forget(key);
      return;
    }
    const owned = this.pods.list(namespace).filter((p) => isControlledBy(p, job.metadata?.uid));
    // Until the cache shows what the last pass did, deciding again would double it.
    if (!expectationsMet(this.expectations, key, owned)) return;
    const plan = planJob(job, owned, this.ctx.now());
    const client = this.ctx.client;
    const ref = { ...job, kind: "Job", apiVersion: "batch/v1" };
    for (const action of plan.actions) {
      switch (action.type) {
        case "createPods":
          await Promise.all(
            Array.from({ length: action.count }, async () => {
              const pod = jobPod(job, `${name}-${randomSuffix()}`);
              await createExpected(client, this.expectations, key, resources.pods, namespace, pod);
              await this.recorder.record(ref, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata?.name ?? ""}`);
            }),
          );
          break;
        case "deletePods":
          for (const podName of action.names) {
            this.expectations.expectDelete(key, podName);
            await client.delete(resources.pods, namespace, podName);
            await this.recorder.record(ref, "Normal", "SuccessfulDelete", `Deleted pod: ${podName}`);
          }
          break;
        case "deleteJob":
          // The TTL controller deletes with Foreground propagation: the pods go before the Job.
          await client.delete(resources.jobs, namespace, name, { propagationPolicy: "Foreground", ...(job.metadata?.uid ? { uid: job.metadata.uid } : {}) });
          return;
        case "requeueAfter":
          this.queue.after(key, action.ms);
          break;
      }
    }
    if (!sameStatus(job.status, plan.status)) {
      try {
        await client.mergePatch(resources.jobs, namespace, name, { status: plan.status }, "status");
      } catch (err) {
        // Deleted meanwhile (its TTL, a user): nothing left to report on.
        if (isNotFound(err)) return;
        throw err;
      }
      const finished = jobFinished({ ...job, status: plan.status });
      if (finished !== undefined && jobFinished(job) === undefined) {
        const failedCondition = plan.status.conditions?.find((c) => c.type === "Failed");
        if (finished === "Complete") await this.recorder.record(ref, "Normal", "Completed", "Job completed");
        else await this.recorder.record(ref, "Warning", failedCondition?.reason ?? "Failed", failedCondition?.message ?? "Job failed");
      }
    }
  }
}
