/**
 * A claim's Stowage volume, as the scheduler extender and the health monitor
 * need it: PVC → its bound PV → the PV's CSI volumeHandle when the PV is
 * ours. Anything else (unbound, another driver, gone) is null.
 */
import type { CoreV1Api } from "@kubernetes/client-node";
import type { ClaimVolumeResolver } from "../../scheduling/topology";
import { isNotFound } from "../../kube/errors";
import { STOWAGE_CSI_DRIVER } from "@stowage/vocabulary";

export function kubeClaimResolver(core: Pick<CoreV1Api, "readNamespacedPersistentVolumeClaim" | "readPersistentVolume">): ClaimVolumeResolver {
  return async (namespace, claimName) => {
    try {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName });
      const pvName = pvc.spec?.volumeName;
      if (!pvName) return null;
      const pv = await core.readPersistentVolume({ name: pvName });
      return pv.spec?.csi?.driver === STOWAGE_CSI_DRIVER ? pv.spec.csi.volumeHandle : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  };
}
