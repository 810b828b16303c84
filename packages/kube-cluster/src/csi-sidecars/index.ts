/**
 * The CSI sidecars of a Stowage deployment as one process would run them: external-provisioner,
 * external-attacher, external-resizer and external-snapshotter with the snapshot-controller, each
 * watching the API server over the wire and calling the driver over its CSI socket.
 */
import { z } from "zod";
import { Attacher } from "./attacher";
import { CsiClient } from "./csi-client";
import { kubeClients } from "./kube-access";
import { Provisioner } from "./provisioner";
import { Resizer } from "./resizer";
import { Snapshotter } from "./snapshotter";
import type { Sidecar, SidecarContext } from "./sidecar";
import { KubeClient } from "../shared/client";
import { EventRecorder } from "../shared/events";
import { asLog, type Log, type WarnOnlyLog } from "../shared/log";

export const csiSidecarsOptionsSchema = z.object({
  /** Kubeconfig YAML, or the path of a kubeconfig file. */
  kubeconfig: z.string().min(1, "kubeconfig is required"),
  csiSocket: z.string().min(1, "csiSocket is required"),
  driverName: z.string().min(1).default("csi.stowage.io"),
  retryDelayMs: z.number().int().positive().default(500),
  maxRetryDelayMs: z.number().int().positive().default(60_000),
});

export type CsiSidecarsOptions = z.input<typeof csiSidecarsOptionsSchema> & { log?: Log | WarnOnlyLog };

export interface CsiSidecars {
  /** Resolves once every sidecar's caches are filled. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export function startCsiSidecars(options: CsiSidecarsOptions): CsiSidecars {
  const parsed = csiSidecarsOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`startCsiSidecars: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const o = parsed.data;
  const kube = kubeClients(o.kubeconfig);
  const client = KubeClient.fromConfig(kube.config);
  const csi = new CsiClient(o.csiSocket);
  const log = asLog(options.log);
  const base = { kube, client, csi, driverName: o.driverName, log, retryDelayMs: o.retryDelayMs, maxRetryDelayMs: o.maxRetryDelayMs };
  const ctx = (component: string): SidecarContext => ({ ...base, events: new EventRecorder(client, component, (err) => log("warn", "event not recorded", { component, error: String(err) })) });
  const sidecars: Sidecar[] = [
    new Provisioner(ctx(`${o.driverName}_external-provisioner`)),
    new Attacher(ctx("external-attacher")),
    new Resizer(ctx("external-resizer")),
    new Snapshotter(ctx("snapshot-controller")),
  ];
  return {
    synced: Promise.all(sidecars.map((s) => s.synced)).then(() => undefined),
    async stop() {
      await Promise.all(sidecars.map((s) => s.stop()));
      csi.close();
    },
  };
}
