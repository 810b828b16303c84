/**
 * The local fleet's stand-in for containers: while a pod runs, a writer
 * appends a timestamped line to `journal.log` in each of its mounted volumes
 * every couple of seconds and syncs it, so the data path (file system → loop
 * device → nbdfuse → NBD → engine) carries real writes and a moved pod finds
 * its journal where it left it.
 */
import fs from "node:fs";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import type { PodVolumeMount } from "@stowage/kube-cluster";
import type { Logger } from "pino";

const INTERVAL_MS = 2_000;

interface Running {
  timer: NodeJS.Timeout;
  mounts: PodVolumeMount[];
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
    const write = () => {
      for (const m of mounts) {
        try {
          // A raw block volume is a device file: the writer leaves it alone.
          if (!fs.statSync(m.path).isDirectory()) continue;
          const fd = fs.openSync(path.join(m.path, "journal.log"), "a");
          try {
            fs.writeSync(fd, `${new Date().toISOString()} ${who}\n`);
            fs.fsyncSync(fd);
          } finally {
            fs.closeSync(fd);
          }
        } catch (err) {
          this.log.warn({ pod: who, volume: m.volumeName, err: err instanceof Error ? err.message : String(err) }, "workload write failed");
        }
      }
    };
    write();
    const timer = setInterval(write, INTERVAL_MS);
    timer.unref();
    this.pods.set(key, { timer, mounts });
  }

  stop(pod?: V1Pod): void {
    const keys = pod ? [this.key(pod)] : [...this.pods.keys()];
    for (const key of keys) {
      const r = this.pods.get(key);
      if (r) clearInterval(r.timer);
      this.pods.delete(key);
    }
  }
}
