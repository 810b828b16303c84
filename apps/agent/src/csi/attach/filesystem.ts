/**
 * File systems on an attached device: found with blkid, made only where blkid
 * finds none (existing data is never reformatted), grown with the file
 * system's own tool.
 */
import type { FsType } from "../capabilities";
import { internal } from "../errors";
import { runCommand, runStep } from "./exec";

/** The file system type on `device`, or null when blkid finds none (its exit code 2). */
export async function detectFs(device: string): Promise<string | null> {
  const r = await runCommand("blkid", ["-p", "-o", "value", "-s", "TYPE", device]).catch((err: unknown) => {
    throw internal(`blkid: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (r.code === 2) return null;
  if (r.code !== 0) throw internal(`blkid: exited ${r.code}: ${r.stderr.trim()}`);
  const type = r.stdout.trim();
  return type === "" ? null : type;
}

export async function makeFs(device: string, fsType: FsType): Promise<void> {
  if (fsType === "ext4") await runStep("mkfs.ext4: make the file system", "mkfs.ext4", ["-q", "-F", device], 120_000);
  else await runStep("mkfs.xfs: make the file system", "mkfs.xfs", ["-q", device], 120_000);
}

/** Grows the file system to the device's size: resize2fs on the device, xfs_growfs on the mount point. */
export async function growFs(fsType: string, device: string, mountPoint: string): Promise<void> {
  if (fsType === "ext4" || fsType === "ext3" || fsType === "ext2") await runStep("resize2fs: grow the file system", "resize2fs", [device], 300_000);
  else if (fsType === "xfs") await runStep("xfs_growfs: grow the file system", "xfs_growfs", [mountPoint], 300_000);
  else throw internal(`grow the file system: ${fsType} cannot be grown`);
}

/**
 * Grows an unmounted ext file system: e2fsck first (resize2fs insists on a
 * checked file system), then resize2fs. For hosts where online ext4 growth is
 * refused (it needs CAP_SYS_RESOURCE) and nothing is published yet.
 */
export async function growExtOffline(device: string): Promise<void> {
  const fsck = await runCommand("e2fsck", ["-f", "-p", device], 300_000).catch((err: unknown) => {
    throw internal(`e2fsck: ${err instanceof Error ? err.message : String(err)}`);
  });
  // 0: clean; 1: errors corrected. Anything else leaves the file system as it was, ungrown.
  if (fsck.code > 1) throw internal(`e2fsck: check before growing exited ${fsck.code}: ${(fsck.stderr || fsck.stdout).trim().slice(0, 500)}`);
  await runStep("resize2fs: grow the unmounted file system", "resize2fs", [device], 300_000);
}
