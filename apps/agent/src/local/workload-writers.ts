/**
 * The local fleet's stand-in for containers: while a pod runs, a writer
 * appends a timestamped line to `journal.log` in each of its mounted volumes
 * every couple of seconds and syncs it, so the data path (file system → loop
 * device → nbdfuse → NBD → engine) carries real writes and a moved pod finds
 * its journal where it left it.
 *
 * The writes are asynchronous and one at a time per pod: they go through FUSE to an NBD server,
 * and a synchronous write or fsync that waits on a slow or moved target would stall the event loop
 * that the kubelets, controllers and CSI servers of the local cluster share (the very code that
 * would move the pod). A tick that finds the last write still running is skipped.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import type { PodVolumeMount } from "@stowage/kube-cluster";
import type { Logger } from "pino";

const INTERVAL_MS = 2_000;

interface Running {
  timer: NodeJS.Timeout;
  mounts: PodVolumeMount[];
  /** The write under way, if any. */
  writing: Promise<void> | null;
}

export class WorkloadWriters {
  private readonly pods = new Map<string, Running>();

  constructor(private readonly log: Logger) {}

  private key(pod: V1Pod): string {
    return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
  }

  start(pod: V1Pod, mounts: PodVolumeMount[]): void {
    const key = this.key(pod);
    if (this.pods.has(key) || mounts.length === 0) return;
    const who = `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
    const writeAll = async (): Promise<void> => {
      for (const m of mounts) {
        try {
          // A raw block volume is a device file: the writer leaves it alone.
          if (!(await fs.stat(m.path)).isDirectory()) continue;
          const file = await fs.open(path.join(m.path, "journal.log"), "a");
          try {
            await file.write(`${new Date().toISOString()} ${who}\n`);
            await file.sync();
          } finally {
            await file.close();
          }
        } catch (err) {
          this.log.warn({ pod: who, volume: m.volumeName, err: err instanceof Error ? err.message : String(err) }, "workload write failed");
        }
      }
    };
    const running: Running = { timer: setInterval(() => tick(), INTERVAL_MS), mounts, writing: null };
    const tick = () => {
      if (running.writing) return;
      running.writing = writeAll().finally(() => {
        running.writing = null;
      });
    };
    running.timer.unref();
    this.pods.set(key, running);
    tick();
  }

  /** Stops the writers (of one pod, or all) and waits for their writes under way: the volumes are unmounted next. */
  async stop(pod?: V1Pod): Promise<void> {
    const keys = pod ? [this.key(pod)] : [...this.pods.keys()];
    const writing: Promise<void>[] = [];
    for (const key of keys) {
      const r = this.pods.get(key);
      if (!r) continue;
      clearInterval(r.timer);
      if (r.writing) writing.push(r.writing);
      this.pods.delete(key);
    }
    await Promise.all(writing);
  }
}
