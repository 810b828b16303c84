/**
 * Attaching a volume's NBD export as a block device on this node: the kernel
 * NBD client where nbd.ko is available, else nbdfuse + a loop device. The
 * attachment is plain data, kept in the attach state, so a restarted plugin
 * can detach what an earlier process attached.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { connectKernelNbd, disconnectKernelNbd, kernelNbdAvailable } from "./kernel-nbd";
import { attachLoop, detachLoop } from "./loop";
import { isNbdfuse, startNbdfuse, stopNbdfuse } from "./nbdfuse";

export const attachmentSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("fuse-loop"), device: z.string(), fuseDir: z.string(), fuseFile: z.string(), pid: z.number().int() }),
  z.object({ kind: z.literal("kernel-nbd"), device: z.string() }),
]);
export type Attachment = z.infer<typeof attachmentSchema>;

export interface AttachRequest {
  volumeId: string;
  address: string;
  exportName: string;
}

export interface BlockAttacher {
  readonly kind: Attachment["kind"];
  attach(r: AttachRequest): Promise<Attachment>;
  detach(a: Attachment): Promise<void>;
  /** Why the attachment no longer works, or null. */
  problem(a: Attachment): string | null;
}

/**
 * FUSE dirs whose nbdfuse a detach is stopping: that exit is the plan, not a lost device. Shared
 * by every attacher instance, as the one that detaches is not always the one that attached.
 */
const detaching = new Set<string>();

export class FuseLoopAttacher implements BlockAttacher {
  readonly kind = "fuse-loop";

  constructor(
    private readonly dir: string,
    private readonly onLost: (volumeId: string, why: string) => void,
  ) {}

  async attach(r: AttachRequest): Promise<Attachment> {
    const fuseDir = path.join(this.dir, "fuse", r.volumeId);
    const fuse = await startNbdfuse({
      dir: fuseDir,
      address: r.address,
      exportName: r.exportName,
      logFile: path.join(this.dir, "logs", `nbdfuse-${r.volumeId}.log`),
      onExit: (code, signal) => {
        if (!detaching.delete(fuseDir)) this.onLost(r.volumeId, `nbdfuse exited ${code ?? signal ?? "?"}`);
      },
    });
    try {
      const device = await attachLoop(fuse.file);
      return { kind: "fuse-loop", device, fuseDir: fuse.dir, fuseFile: fuse.file, pid: fuse.pid };
    } catch (err) {
      await stopNbdfuse(fuse);
      throw err;
    }
  }

  async detach(a: Attachment): Promise<void> {
    if (a.kind !== "fuse-loop") throw new Error(`a ${a.kind} attachment cannot be detached by the nbdfuse attacher`);
    await detachLoop(a.device);
    detaching.add(a.fuseDir);
    await stopNbdfuse({ dir: a.fuseDir, file: a.fuseFile, pid: a.pid });
  }

  problem(a: Attachment): string | null {
    if (a.kind !== "fuse-loop") return null;
    if (!isNbdfuse(a.pid)) return `nbdfuse (pid ${a.pid}) serving ${a.fuseFile} is not running`;
    if (!fs.existsSync(a.device)) return `${a.device} is gone`;
    return null;
  }
}

export class KernelNbdAttacher implements BlockAttacher {
  readonly kind = "kernel-nbd";

  attach(r: AttachRequest): Promise<Attachment> {
    return connectKernelNbd(r.address, r.exportName).then((device) => ({ kind: "kernel-nbd", device }));
  }

  detach(a: Attachment): Promise<void> {
    return disconnectKernelNbd(a.device);
  }

  problem(a: Attachment): string | null {
    const name = path.basename(a.device);
    return fs.existsSync(`/sys/block/${name}/pid`) ? null : `${a.device} has no NBD connection`;
  }
}

/** The kernel client where it can work, else the nbdfuse fallback. */
export async function chooseAttacher(dir: string, onLost: (volumeId: string, why: string) => void): Promise<BlockAttacher> {
  return (await kernelNbdAvailable()) ? new KernelNbdAttacher() : new FuseLoopAttacher(dir, onLost);
}

/** The attacher that made `a` (a restarted plugin may have chosen another kind since). */
export function attacherFor(a: Attachment, dir: string, onLost: (volumeId: string, why: string) => void): BlockAttacher {
  return a.kind === "kernel-nbd" ? new KernelNbdAttacher() : new FuseLoopAttacher(dir, onLost);
}
