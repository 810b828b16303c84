/**
 * Services that must run once per cluster (the uplink, the health monitor,
 * CRD installation): started when this replica becomes the leader of the
 * `stowage-cluster` Lease, stopped when it stops leading, so two replicas of
 * the cluster Deployment never register twice or evict pods side by side.
 */
import { ServiceGroup, type Service } from "@stowage/supervisor";
import type { Logger } from "pino";
import { LeaderElector, type LeaseStore } from "../../kube/leader-election";

export class WhileLeading implements Service {
  readonly name = "while-leading";
  private readonly elector: LeaderElector;
  /** Start and stop of the group, one at a time, in the order leadership changed. */
  private transition: Promise<void> = Promise.resolve();
  private group: ServiceGroup | null = null;

  constructor(
    opts: { identity: string; store: LeaseStore; log: Logger; stopTimeoutMs: number },
    /** Made afresh on each term: a service is started at most once. */
    private readonly services: () => Service[],
  ) {
    this.elector = new LeaderElector({
      identity: opts.identity,
      store: opts.store,
      log: opts.log,
      onStartedLeading: () => {
        this.transition = this.transition.then(async () => {
          const group = new ServiceGroup(opts.log, opts.stopTimeoutMs);
          this.group = group;
          try {
            await group.start(this.services());
            opts.log.info({ identity: opts.identity }, "leading: cluster-wide services started");
          } catch (err) {
            opts.log.error({ err: err instanceof Error ? err.message : String(err) }, "leading, but the cluster-wide services did not start");
            await group.stop();
          }
        });
      },
      onStoppedLeading: () => {
        this.transition = this.transition.then(async () => {
          await this.group?.stop();
          this.group = null;
          opts.log.info({ identity: opts.identity }, "no longer leading: cluster-wide services stopped");
        });
      },
    });
  }

  start(): Promise<void> {
    return this.elector.start();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    await this.transition;
    await this.group?.stop();
  }
}
