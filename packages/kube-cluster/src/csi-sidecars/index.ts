/**
 * The CSI sidecars of a Stowage deployment as one process would run them: external-provisioner,
 * external-attacher, external-resizer and external-snapshotter with the snapshot-controller, each
 * watching the API server over the wire and calling the driver over its CSI socket.
 */
import { z } from "zod";
import { Attacher } from "./attacher";
import { CsiClient } from "./csi-client";
import { eventRecorder, kubeClients } from "./kube-access";
import { Provisioner } from "./provisioner";
import { Resizer } from "./resizer";
import { Snapshotter } from "./snapshotter";
import { silentLog, type Sidecar, type SidecarContext, type SidecarLog } from "./sidecar";

export const csiSidecarsOptionsSchema = z.object({
  /** Kubeconfig YAML, or the path of a kubeconfig file. */
  kubeconfig: z.string().min(1, "kubeconfig is required"),
  csiSocket: z.string().min(1, "csiSocket is required"),
  driverName: z.string().min(1).default("csi.stowage.io"),
  retryDelayMs: z.number().int().positive().default(500),
  maxRetryDelayMs: z.number().int().positive().default(60_000),
});

export type CsiSidecarsOptions = z.input<typeof csiSidecarsOptionsSchema> & { log?: SidecarLog };

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
  const csi = new CsiClient(o.csiSocket);
  const base = { kube, csi, driverName: o.driverName, log: options.log ?? silentLog, retryDelayMs: o.retryDelayMs, maxRetryDelayMs: o.maxRetryDelayMs };
  const ctx = (component: string): SidecarContext => ({ ...base, events: eventRecorder(kube.core, component) });
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
