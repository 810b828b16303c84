/** The CSI Identity service: who we are, what we serve, and whether the engine answers. */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { z } from "zod";
import { unary } from "./rpc";
import { STOWAGE_CSI_DRIVER } from "@stowage/vocabulary";

export interface IdentityOptions {
  vendorVersion: string;
  /** Whether this server also serves the Controller service. */
  controller: boolean;
  /** True when the engine answers; a throw or false makes Probe report not ready. */
  ready: () => Promise<boolean>;
  log: Logger;
}

const empty = z.object({}).passthrough();

/**
 * Volume expansion is OFFLINE: the node plugin's fallback attach (nbdfuse)
 * fixes the device size when it connects, so a staged volume cannot see its
 * new size. The CO unstages, ControllerExpandVolume grows the volume, the next
 * stage attaches at the new size and NodeExpandVolume grows the file system.
 * Re-attaching under a mounted file system instead would need the loop device
 * swapped beneath it, which the kernel does not allow.
 */
export const VOLUME_EXPANSION = "OFFLINE";

export function identityService(opts: IdentityOptions): UntypedServiceImplementation {
  const log = opts.log;
  return {
    GetPluginInfo: unary(log, "GetPluginInfo", empty, () => Promise.resolve({ name: STOWAGE_CSI_DRIVER, vendor_version: opts.vendorVersion, manifest: {} })),
    GetPluginCapabilities: unary(log, "GetPluginCapabilities", empty, () =>
      Promise.resolve({
        capabilities: [
          ...(opts.controller ? [{ service: { type: "CONTROLLER_SERVICE" } }] : []),
          { service: { type: "VOLUME_ACCESSIBILITY_CONSTRAINTS" } },
          { volume_expansion: { type: VOLUME_EXPANSION } },
        ],
      }),
    ),
    Probe: unary(log, "Probe", empty, async () => {
      const ready = await opts.ready().catch(() => false);
      return { ready: { value: ready } };
    }),
  };
}
