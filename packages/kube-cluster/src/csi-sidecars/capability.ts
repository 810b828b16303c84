/**
 * Kubernetes access modes and volume modes as CSI VolumeCapability messages, the mapping
 * external-provisioner, external-attacher and the kubelet share (without the SINGLE_NODE_MULTI_WRITER
 * capability, which Stowage does not advertise: RWO is SINGLE_NODE_WRITER).
 */
import type { V1PersistentVolume } from "@kubernetes/client-node";

export type CsiAccessMode = "SINGLE_NODE_WRITER" | "SINGLE_NODE_SINGLE_WRITER" | "MULTI_NODE_READER_ONLY" | "MULTI_NODE_MULTI_WRITER";

export function csiAccessMode(mode: string): CsiAccessMode {
  switch (mode) {
    case "ReadWriteOnce":
      return "SINGLE_NODE_WRITER";
    case "ReadWriteOncePod":
      return "SINGLE_NODE_SINGLE_WRITER";
    case "ReadOnlyMany":
      return "MULTI_NODE_READER_ONLY";
    case "ReadWriteMany":
      return "MULTI_NODE_MULTI_WRITER";
    default:
      throw new Error(`access mode ${JSON.stringify(mode)} is not a Kubernetes access mode`);
  }
}

export interface CsiVolumeCapability {
  access_mode: { mode: CsiAccessMode };
  mount?: { fs_type: string; mount_flags: string[] };
  block?: Record<string, never>;
}

export function volumeCapability(accessMode: string, volumeMode: string | undefined, fsType: string, mountFlags: readonly string[]): CsiVolumeCapability {
  const access_mode = { mode: csiAccessMode(accessMode) };
  return volumeMode === "Block" ? { access_mode, block: {} } : { access_mode, mount: { fs_type: fsType, mount_flags: [...mountFlags] } };
}

/** The capability of a PV as the attacher and the kubelet send it: its first access mode (what upstream does for publish). */
export function pvCapability(pv: V1PersistentVolume): CsiVolumeCapability {
  const spec = pv.spec;
  const mode = spec?.accessModes?.[0] ?? "ReadWriteOnce";
  return volumeCapability(mode, spec?.volumeMode, spec?.csi?.fsType ?? "", spec?.mountOptions ?? []);
}
