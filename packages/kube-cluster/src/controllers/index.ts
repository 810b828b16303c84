/** startControllers: the kube-controller-manager controllers, in process, over the wire. */
import { z } from "zod";
import { KubeClient } from "../shared/client";
import { makeContext, type Controller, type ControllerContext, type Log } from "../shared/controller";
import { CronJobController } from "./cronjob";
import { DaemonSetController } from "./daemonset";
import { DeploymentController } from "./deployment";
import { GarbageCollector } from "./garbage-collector";
import { JobController } from "./job";
import { NamespaceController } from "./namespace";
import { NodeLifecycleController } from "./node-lifecycle";
import { PersistentVolumeBinder } from "./persistentvolume-binder";
import { ReplicaSetController } from "./replicaset";
import { StatefulSetController } from "./statefulset";

const controllerNames = ["deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob", "nodelifecycle", "garbagecollector", "namespace", "persistentvolume-binder"] as const;
export type ControllerName = (typeof controllerNames)[number];

export const controllersOptionsSchema = z.object({
  kubeconfig: z.string().min(1, "kubeconfig: the YAML text of a kubeconfig is required"),
  /** Which controllers run; default all. */
  controllers: z.array(z.enum(controllerNames)).optional(),
  cronJob: z.object({
    /** How often every CronJob is looked at again (kcm's cronjob controller requeues at most this late). */
    resyncMs: z.number().int().positive().default(10_000),
  }).prefault({}),
  nodeLifecycle: z.object({
    /** node-monitor-grace-period (kcm 1.32: 50 s). */
    gracePeriodMs: z.number().int().positive().default(50_000),
    /** node-monitor-period. */
    monitorPeriodMs: z.number().int().positive().default(5_000),
    /** What DefaultTolerationSeconds admission gives a pod for not-ready/unreachable. */
    defaultTolerationSeconds: z.number().int().nonnegative().default(300),
  }).prefault({}),
});
export type ControllersOptions = z.input<typeof controllersOptionsSchema> & {
  log?: Log;
  /** Milliseconds since the epoch; a test's clock makes CronJob schedules, Job TTLs and node grace periods pass at once. */
  now?: () => number;
};

export interface RunningControllers {
  stop(): Promise<void>;
}

type Settings = z.output<typeof controllersOptionsSchema>;

const factories: Record<ControllerName, (ctx: ControllerContext, settings: Settings) => Controller> = {
  deployment: (ctx) => new DeploymentController(ctx),
  replicaset: (ctx) => new ReplicaSetController(ctx),
  statefulset: (ctx) => new StatefulSetController(ctx),
  daemonset: (ctx) => new DaemonSetController(ctx),
  job: (ctx) => new JobController(ctx),
  cronjob: (ctx, s) => new CronJobController(ctx, s.cronJob),
  nodelifecycle: (ctx, s) => new NodeLifecycleController(ctx, s.nodeLifecycle),
  garbagecollector: (ctx) => new GarbageCollector(ctx),
  namespace: (ctx) => new NamespaceController(ctx),
  "persistentvolume-binder": (ctx) => new PersistentVolumeBinder(ctx),
};

export async function startControllers(options: ControllersOptions): Promise<RunningControllers> {
  const parsed = controllersOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`invalid controller options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const ctx = makeContext(KubeClient.fromKubeconfig(parsed.data.kubeconfig), options.log ?? (() => undefined), options.now);
  const controllers = (parsed.data.controllers ?? controllerNames).map((name) => factories[name](ctx, parsed.data));
  for (const c of controllers) await c.start();
  await ctx.informers.start();
  return {
    stop: async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      await ctx.informers.stop();
    },
  };
}
