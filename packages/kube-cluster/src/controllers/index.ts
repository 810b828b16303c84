/** startControllers: the kube-controller-manager controllers, in process, over the wire. */
import { z } from "zod";
import { KubeClient } from "../shared/client";
import { makeContext, type Controller, type ControllerContext, type Log } from "../shared/controller";
import { DeploymentController } from "./deployment";
import { GarbageCollector } from "./garbage-collector";
import { NamespaceController } from "./namespace";
import { PersistentVolumeBinder } from "./persistentvolume-binder";
import { ReplicaSetController } from "./replicaset";
import { StatefulSetController } from "./statefulset";

const controllerNames = ["deployment", "replicaset", "statefulset", "garbagecollector", "namespace", "persistentvolume-binder"] as const;
export type ControllerName = (typeof controllerNames)[number];

export const controllersOptionsSchema = z.object({
  kubeconfig: z.string().min(1, "kubeconfig: the YAML text of a kubeconfig is required"),
  /** Which controllers run; default all. */
  controllers: z.array(z.enum(controllerNames)).optional(),
});
export type ControllersOptions = z.input<typeof controllersOptionsSchema> & { log?: Log };

export interface RunningControllers {
  stop(): Promise<void>;
}

const factories: Record<ControllerName, (ctx: ControllerContext) => Controller> = {
  deployment: (ctx) => new DeploymentController(ctx),
  replicaset: (ctx) => new ReplicaSetController(ctx),
  statefulset: (ctx) => new StatefulSetController(ctx),
  garbagecollector: (ctx) => new GarbageCollector(ctx),
  namespace: (ctx) => new NamespaceController(ctx),
  "persistentvolume-binder": (ctx) => new PersistentVolumeBinder(ctx),
};

export async function startControllers(options: ControllersOptions): Promise<RunningControllers> {
  const parsed = controllersOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`invalid controller options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const ctx = makeContext(KubeClient.fromKubeconfig(parsed.data.kubeconfig), options.log ?? (() => undefined));
  const controllers = (parsed.data.controllers ?? controllerNames).map((name) => factories[name](ctx));
  for (const c of controllers) await c.start();
  await ctx.informers.start();
  return {
    stop: async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      await ctx.informers.stop();
    },
  };
}
