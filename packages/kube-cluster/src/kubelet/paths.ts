/** The kubelet's on-disk layout for CSI volumes and the attach-detach controller's object names, as upstream spells them. */
import { createHash } from "node:crypto";
import path from "node:path";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** One staging directory per volume per node: `<root>/plugins/kubernetes.io/csi/<driver>/<sha256(volumeHandle)>/globalmount`. */
export function stagingPath(rootDir: string, driverName: string, volumeHandle: string): string {
  return path.join(rootDir, "plugins", "kubernetes.io", "csi", driverName, sha256(volumeHandle), "globalmount");
}

/** A pod's mount of a file-system volume. */
export function mountTargetPath(rootDir: string, podUid: string, pvName: string): string {
  return path.join(rootDir, "pods", podUid, "volumes", "kubernetes.io~csi", pvName, "mount");
}

/** A pod's raw block volume: a file the driver binds the device onto. */
export function blockTargetPath(rootDir: string, podUid: string, pvName: string): string {
  return path.join(rootDir, "pods", podUid, "volumeDevices", "kubernetes.io~csi", pvName);
}

/** The VolumeAttachment name the attach-detach controller uses: `csi-` + sha256(pv name + driver + node name). */
export function attachmentName(pvName: string, driverName: string, nodeName: string): string {
  return `csi-${sha256(pvName + driverName + nodeName)}`;
}
