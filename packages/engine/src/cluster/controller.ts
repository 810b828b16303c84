/**
 * The cluster's volume controller. Every node runs a candidate; the one that
 * holds the `controller` key (created with its node lease, so it vanishes
 * when that node dies or loses etcd) applies `reconcileVolume` to every
 * volume, on changes and periodically. Each decision is a compare-and-swap on
 * the volume record, so a controller that lost its key without noticing yet
 * can at worst make a decision that is still valid for the record it read.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { applyVolumeActions, reconcileVolume, type VolumeAction } from "./reconcile";
import { keys, nodeRecordSchema, volumeRecordSchema, type NodeRecord, type VolumeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import type { Logger } from "../logger";

export interface ControllerLease {
  create(key: string, value: unknown): Promise<boolean>;
  readonly id: string;
}

export interface VolumeControllerOptions {
  nodeId: string;
  store: ConsensusStore;
  /** The node's current lease (it changes when the node re-registers after losing one). */
  lease: () => ControllerLease | null;
  replaceAfterMs: number;
  /** Period of the full reconcile pass (ms); changes trigger one sooner. */
  intervalMs: number;
  logger: Logger;
}

const controllerSchema = z.object({ id: z.string() });

export function newReplicaId(volumeId: string): string {
  return `${volumeId}-${randomBytes(4).toString("hex")}`;
}

/** Whether the actions change the record (a "blocked" alone does not). */
function effective(actions: VolumeAction[]): VolumeAction[] {
  return actions.filter((a) => a.type !== "blocked");
}

export class VolumeController {
  private leaderLease: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private unwatch: Array<() => Promise<void>> = [];
  private readonly lastBlocked = new Map<string, string>();

  constructor(private readonly opts: VolumeControllerOptions) {}

  get isLeader(): boolean {
    const lease = this.opts.lease();
    return lease !== null && this.leaderLease === lease.id;
  }

  async start(): Promise<void> {
    const trigger = (): void => this.kick();
    this.unwatch.push(await this.opts.store.watchPrefix(keys.nodesPrefix, trigger));
    this.unwatch.push(await this.opts.store.watchPrefix(keys.volumesPrefix, trigger));
    this.unwatch.push(await this.opts.store.watchPrefix(keys.controller, trigger));
    this.timer = setInterval(trigger, this.opts.intervalMs);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.unwatch.map((u) => u().catch(() => undefined)));
    await this.running?.catch(() => undefined);
  }

  /** Runs a pass now, or right after the one in progress (passes never overlap). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: unknown) => this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "controller pass failed"))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async campaign(): Promise<boolean> {
    const lease = this.opts.lease();
    if (!lease) return false;
    if (this.leaderLease === lease.id) {
      // Still ours? The key disappears with the lease; re-create if it went.
      const cur = await this.opts.store.get(keys.controller, controllerSchema);
      if (cur?.value.id === this.opts.nodeId) return true;
      this.leaderLease = null;
    }
    if (await lease.create(keys.controller, { id: this.opts.nodeId })) {
      this.leaderLease = lease.id;
      this.opts.logger.info({ lease: lease.id }, "volume controller elected");
      return true;
    }
    return false;
  }

  private async pass(): Promise<void> {
    if (!(await this.campaign())) return;
    const [nodes, volumes] = await Promise.all([
      this.opts.store.list(keys.nodesPrefix, nodeRecordSchema),
      this.opts.store.list(keys.volumesPrefix, volumeRecordSchema),
    ]);
    const alive = nodes.map((n) => n.value);
    for (const v of volumes) await this.reconcileOne(v.value, v.revision, alive);
  }

  private async reconcileOne(v: VolumeRecord, revision: string, nodes: NodeRecord[]): Promise<void> {
    const now = Date.now();
    const actions = reconcileVolume(v, nodes, { now, replaceAfterMs: this.opts.replaceAfterMs, newReplicaId: () => newReplicaId(v.id) });
    const blocked = actions.find((a) => a.type === "blocked");
    if (blocked && this.lastBlocked.get(v.id) !== blocked.reason) {
      this.opts.logger.warn({ volume: v.id, reason: blocked.reason }, "volume reconcile blocked");
    }
    if (blocked) this.lastBlocked.set(v.id, blocked.reason);
    else this.lastBlocked.delete(v.id);
    const todo = effective(actions);
    if (todo.length === 0) return;
    const next = applyVolumeActions(v, todo, now);
    const ok = await this.opts.store.compareAndSwap(keys.volume(v.id), revision, next);
    // A lost race is fine: the change that won triggers another pass.
    if (ok) {
      for (const a of todo) this.opts.logger.info({ volume: v.id, action: a.type, reason: a.reason, epoch: next.epoch }, "volume reconciled");
    }
  }
}
