/**
 * CronJob → Jobs `<cronjob>-<scheduled time in unix minutes>` at the times of its schedule
 * (cron-schedule.ts), as kcm's cronjob controller v2: the most recent missed time runs unless it is
 * older than startingDeadlineSeconds; concurrencyPolicy Allow / Forbid (skip while one is active) /
 * Replace (delete the active ones first); suspend; status.active, lastScheduleTime and
 * lastSuccessfulTime; finished Jobs beyond successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1)
 * deleted oldest first. Time comes from the context's clock; schedules are UTC (another timeZone is
 * reported, not guessed).
 */
import type { V1CronJob, V1Job, V1ObjectReference } from "@kubernetes/client-node";
import { isAlreadyExists, isConflict, timeOf } from "../shared/client";
import type { Controller, ControllerContext } from "../shared/controller";
import { controllerRef, isControlledBy, isDeleting, timestampAt } from "../shared/objects";
import { keyOf, splitKey, WorkQueue } from "../shared/queue";
import { resources } from "../shared/resources";
import { enqueueController } from "../shared/owned";
import { CronScheduleError, mostRecentScheduleTime, nextScheduleTime, parseCronSchedule } from "./cron-schedule";
import { jobFinished } from "./job";

export const scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";

export type CronJobAction =
  | { type: "createJob"; job: V1Job }
  | { type: "deleteJob"; name: string; reason: "replace" | "history" }
  /** `once` names the occasion: the controller records an event once per CronJob and occasion. */
  | { type: "event"; eventType: "Normal" | "Warning"; reason: string; message: string; once?: string };

export interface CronJobPlan {
  actions: CronJobAction[];
  /** status.active (without a Job this plan creates), lastScheduleTime, lastSuccessfulTime. */
  active: V1ObjectReference[];
  lastScheduleTime: number | undefined;
  lastSuccessfulTime: number | undefined;
  /** When to look again (ms from now); undefined when nothing is due (suspended, bad schedule). */
  requeueAfterMs: number | undefined;
}

/** The Job a CronJob makes for its scheduled time: deterministic name, template labels/annotations, owner. */
export function jobForSchedule(cj: V1CronJob, scheduled: number): V1Job {
  const template = cj.spec?.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: `${cj.metadata?.name ?? ""}-${Math.floor(scheduled / 60_000)}`,
      namespace: cj.metadata?.namespace,
      labels: { ...(template?.metadata?.labels ?? {}) },
      annotations: { ...(template?.metadata?.annotations ?? {}), [scheduledTimestampAnnotation]: new Date(scheduled).toISOString().replace(/\.\d+Z$/, "Z") },
      ownerReferences: [controllerRef(cj)],
    },
    spec: template?.spec ?? { template: { spec: { containers: [] } } },
  };
}

function jobRef(job: V1Job): V1ObjectReference {
  return { kind: "Job", apiVersion: "batch/v1", namespace: job.metadata?.namespace, name: job.metadata?.name, uid: job.metadata?.uid, resourceVersion: job.metadata?.resourceVersion };
}

const startedAt = (job: V1Job): number => timeOf(job.status?.startTime) ?? timeOf(job.metadata?.creationTimestamp) ?? 0;

/** The decision for one CronJob from the Jobs it controls, at `now` (ms). */
export function planCronJob(cj: V1CronJob, owned: readonly V1Job[], now: number): CronJobPlan {
  const actions: CronJobAction[] = [];
  const running = owned.filter((j) => jobFinished(j) === undefined && !isDeleting(j));
  const active = running.map(jobRef);
  let lastSuccessfulTime = timeOf(cj.status?.lastSuccessfulTime);
  for (const j of owned) {
    if (jobFinished(j) !== "Complete") continue;
    const done = timeOf(j.status?.completionTime) ?? startedAt(j);
    if (lastSuccessfulTime === undefined || done > lastSuccessfulTime) lastSuccessfulTime = done;
    if ((cj.status?.active ?? []).some((r) => r.uid === j.metadata?.uid)) actions.push({ type: "event", eventType: "Normal", reason: "SawCompletedJob", message: `Saw completed job: ${j.metadata?.name ?? ""}, status: Complete`, once: j.metadata?.uid ?? "" });
  }
  const plan: CronJobPlan = { actions, active, lastScheduleTime: timeOf(cj.status?.lastScheduleTime), lastSuccessfulTime, requeueAfterMs: undefined };
  if (isDeleting(cj)) return plan;

  // History: the oldest finished Jobs beyond each limit go.
  const trim = (state: "Complete" | "Failed", limit: number) => {
    const finished = owned.filter((j) => jobFinished(j) === state && !isDeleting(j)).sort((a, b) => startedAt(a) - startedAt(b));
    for (const j of finished.slice(0, Math.max(0, finished.length - limit))) actions.push({ type: "deleteJob", name: j.metadata?.name ?? "", reason: "history" });
  };
  trim("Complete", cj.spec?.successfulJobsHistoryLimit ?? 3);
  trim("Failed", cj.spec?.failedJobsHistoryLimit ?? 1);

  if (cj.spec?.suspend === true) return plan;
  const timeZone = cj.spec?.timeZone;
  if (timeZone !== undefined && timeZone !== "UTC" && timeZone !== "Etc/UTC") {
    // Schedules are computed in UTC here; running at the wrong hour would be worse than not running.
    actions.push({ type: "event", eventType: "Warning", reason: "UnknownTimeZone", message: `invalid timeZone: ${JSON.stringify(timeZone)}: only UTC is supported by this controller` });
    return plan;
  }
  let schedule;
  try {
    schedule = parseCronSchedule(cj.spec?.schedule ?? "");
  } catch (err) {
    if (!(err instanceof CronScheduleError)) throw err;
    actions.push({ type: "event", eventType: "Warning", reason: "InvalidSchedule", message: `invalid schedule: ${cj.spec?.schedule ?? ""} : ${err.message}` });
    return plan;
  }
  const since = plan.lastScheduleTime ?? timeOf(cj.metadata?.creationTimestamp) ?? now;
  const next = nextScheduleTime(schedule, now);
  plan.requeueAfterMs = next === undefined ? undefined : next - now;
  const { latest, missed } = mostRecentScheduleTime(schedule, since, now);
  if (latest === undefined) return plan;
  if (missed > 100) actions.push({ type: "event", eventType: "Warning", reason: "TooManyMissedTimes", message: "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew" });
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && latest + deadline * 1000 < now) {
    actions.push({ type: "event", eventType: "Warning", reason: "MissSchedule", message: `Missed scheduled time to start a job: ${new Date(latest).toUTCString()}`, once: String(latest) });
    return plan;
  }
  const job = jobForSchedule(cj, latest);
  if (owned.some((j) => j.metadata?.name === job.metadata?.name)) {
    plan.lastScheduleTime = Math.max(plan.lastScheduleTime ?? 0, latest);
    return plan;
  }
  const policy = cj.spec?.concurrencyPolicy ?? "Allow";
  if (policy === "Forbid" && running.length > 0) {
    actions.push({ type: "event", eventType: "Normal", reason: "JobAlreadyActive", message: "Not starting job because prior execution is running and concurrency policy is Forbid", once: String(latest) });
    return plan;
  }
  if (policy === "Replace") {
    for (const j of running) actions.push({ type: "deleteJob", name: j.metadata?.name ?? "", reason: "replace" });
    plan.active = [];
  }
  actions.push({ type: "createJob", job });
  plan.lastScheduleTime = latest;
  return plan;
}

export interface CronJobSettings {
  /** How often every CronJob is looked at again regardless of its next time (the clock may be a test's). */
  resyncMs: number;
}

export class CronJobController implements Controller {
  readonly name = "cronjob";
  private readonly queue: WorkQueue;
  private readonly cronJobs;
  private readonly jobs;
  private readonly recorder;
  /** Warning events already recorded, by CronJob and reason+message, so a resync does not repeat them. */
  private readonly reported = new Map<string, Set<string>>();
  private resync: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly settings: CronJobSettings,
  ) {
    this.cronJobs = ctx.informers.for<V1CronJob>(resources.cronJobs);
    this.jobs = ctx.informers.for<V1Job>(resources.jobs);
    this.recorder = ctx.recorder("cronjob-controller");
    this.queue = new WorkQueue((key) => this.sync(key), (key, err) => ctx.log("warn", "cronjob sync failed", { key, err: String(err) }));
  }

  async start(): Promise<void> {
    this.cronJobs.onChange((cj, kind) => {
      if (kind === "delete") this.reported.delete(keyOf(cj.metadata));
      this.queue.add(keyOf(cj.metadata));
    });
    this.jobs.onChange(enqueueController(this.queue, "CronJob"));
    this.resync = setInterval(() => {
      for (const cj of this.cronJobs.list()) this.queue.add(keyOf(cj.metadata));
    }, this.settings.resyncMs);
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cj = this.cronJobs.get(name, namespace);
    if (!cj) return;
    const owned = this.jobs.list(namespace).filter((j) => isControlledBy(j, cj.metadata?.uid));
    const plan = planCronJob(cj, owned, this.ctx.now());
    const client = this.ctx.client;
    const ref = { ...cj, kind: "CronJob", apiVersion: "batch/v1" };
    const active = [...plan.active];
    for (const action of plan.actions) {
      switch (action.type) {
        case "event": {
          const seen = this.reported.get(key) ?? new Set<string>();
          const id = `${action.reason}|${action.once ?? action.message}`;
          if (seen.has(id)) break;
          seen.add(id);
          this.reported.set(key, seen);
          await this.recorder.record(ref, action.eventType, action.reason, action.message);
          break;
        }
        case "deleteJob":
          await client.delete(resources.jobs, namespace, action.name, { propagationPolicy: "Background" });
          await this.recorder.record(ref, "Normal", "SuccessfulDelete", `Deleted job ${action.name}`);
          break;
        case "createJob":
          try {
            const created = await client.create<V1Job>(resources.jobs, namespace, action.job);
            active.push(jobRef(created));
            await this.recorder.record(ref, "Normal", "SuccessfulCreate", `Created job ${created.metadata?.name ?? ""}`);
          } catch (err) {
            if (!isAlreadyExists(err)) throw err;
          }
          break;
      }
    }
    const status = {
      active: active.length > 0 ? active : null,
      lastScheduleTime: plan.lastScheduleTime === undefined ? null : timestampAt(plan.lastScheduleTime),
      lastSuccessfulTime: plan.lastSuccessfulTime === undefined ? null : timestampAt(plan.lastSuccessfulTime),
    };
    const unchanged =
      JSON.stringify((cj.status?.active ?? []).map((r) => r.uid)) === JSON.stringify(active.map((r) => r.uid)) &&
      timeOf(cj.status?.lastScheduleTime) === plan.lastScheduleTime &&
      timeOf(cj.status?.lastSuccessfulTime) === plan.lastSuccessfulTime;
    if (!unchanged) {
      try {
        // Conditional: a status from a cache that lags behind our own last write must not undo it.
        await client.mergePatch(resources.cronJobs, namespace, name, { metadata: { resourceVersion: cj.metadata?.resourceVersion }, status }, "status");
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.queue.after(key, 50);
        return;
      }
    }
    // Sooner than the resync only; the resync covers the rest (and a test clock that jumps).
    if (plan.requeueAfterMs !== undefined && plan.requeueAfterMs < this.settings.resyncMs) this.queue.after(key, plan.requeueAfterMs);
  }
}
