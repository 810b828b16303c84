/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's
 * leaderelection package.
 *
 * - A candidate takes the Lease when nobody holds it, when the holder
 *   released it (empty holderIdentity), or when the record has not changed
 *   for leaseDurationSeconds *by our own clock* since we first saw it — never
 *   by comparing the holder's renewTime with our clock, which would trust two
 *   clocks to agree.
 * - Every write carries the resourceVersion read: a 409 means someone else
 *   wrote first, so we re-read on the next round instead of overwriting.
 * - The leader renews every `retryPeriodMs`; if no renew succeeded for
 *   `renewDeadlineMs` (< the lease duration) it stops leading — by a timer,
 *   not after a hung request returns — so it is no longer acting when
 *   another candidate's lease duration runs out.
 * - `stop()` releases the Lease (empty holder, 1 s duration) so a successor
 *   takes over at once instead of waiting out the duration.
 */
import type { CoordinationV1Api, V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Service } from "@stowage/supervisor";
import { describeApiError, isConflict, isNotFound } from "./errors";
import { microTime, timeFieldMs } from "./microtime";

/** The fields of a Lease's spec leader election reads and writes; times in ms since the epoch. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTimeMs: number;
  renewTimeMs: number;
  leaseTransitions: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Lease reads and conditional writes; the API server in production, a map in unit tests. */
export interface LeaseStore {
  get(): Promise<StoredLease | null>;
  /** Fails with 409 AlreadyExists if someone created it first. */
  create(record: LeaseRecord): Promise<StoredLease>;
  /** Fails with 409 Conflict if `resourceVersion` is no longer current. */
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

export interface LeaderElectorOptions {
  /** Unique per process: the pod name, so `kubectl get lease` tells who leads. */
  identity: string;
  store: LeaseStore;
  log: Logger;
  /** How long a silent leader keeps the Lease; default 15 s. */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down; default 10 s; must be below the lease duration. */
  renewDeadlineMs?: number;
  /** Between two tries; default 2 s. */
  retryPeriodMs?: number;
  /** Called on becoming leader; `signal` aborts when leadership ends. Work must stop then. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called when leadership ends (lost, deadline missed, or stop). */
  onStoppedLeading?: () => void;
  /** Called whenever the observed holder changes (including to ""). */
  onNewLeader?: (identity: string) => void;
  now?: () => number;
}

export class LeaderElector implements Service {
  readonly name = "leader-election";
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** The last record seen and when (our clock) it last changed. */
  private observed: StoredLease | null = null;
  private observedAtMs = 0;
  private leading: AbortController | undefined;
  private lastRenewMs = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.now = opts.now ?? Date.now;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error("renewDeadlineMs must be below leaseDurationMs");
    if (this.retryPeriodMs >= this.renewDeadlineMs) throw new Error("retryPeriodMs must be below renewDeadlineMs");
  }

  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder as last observed ("" when released or unknown). */
  get leader(): string {
    return this.observed?.record.holderIdentity ?? "";
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader stops leading and releases the Lease. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    const wasLeading = this.leading !== undefined;
    this.stepDown("stopped");
    if (wasLeading) await this.release();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const ok = await this.tryAcquireOrRenew();
        if (ok && this.running) {
          this.lastRenewMs = this.now();
          this.armDeadline();
          if (!this.leading) this.startLeading();
        } else if (!ok && this.leading && this.observed && this.observed.record.holderIdentity !== this.opts.identity) {
          // Someone else holds it (we lost a race, or were released by an operator): stop at once.
          this.stepDown("lease taken by another holder");
        }
      } catch (err) {
        this.opts.log.warn({ identity: this.opts.identity, err: describeApiError(err) }, "lease acquire or renew failed");
      }
      await this.pause(this.retryPeriodMs);
    }
  }

  /** One round: true if we hold the Lease after it. Throws on API errors other than a lost race. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const mine = (prev: LeaseRecord | undefined): LeaseRecord => {
      const held = prev?.holderIdentity === this.opts.identity;
      return {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTimeMs: held && prev ? prev.acquireTimeMs : now,
        renewTimeMs: now,
        leaseTransitions: prev === undefined ? 0 : held ? prev.leaseTransitions : prev.leaseTransitions + 1,
      };
    };
    const current = await this.opts.store.get();
    if (current === null) {
      try {
        this.observe(await this.opts.store.create(mine(undefined)));
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    this.observe(current);
    const holder = current.record.holderIdentity;
    if (holder !== "" && holder !== this.opts.identity && !this.observedExpired(current.record)) return false;
    try {
      this.observe(await this.opts.store.update(mine(current.record), current.resourceVersion));
      return true;
    } catch (err) {
      // Someone wrote between our read and write: re-read next round, never overwrite.
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private observe(lease: StoredLease): void {
    const prev = this.observed;
    if (!prev || prev.resourceVersion !== lease.resourceVersion) this.observedAtMs = this.now();
    if (prev?.record.holderIdentity !== lease.record.holderIdentity) this.opts.onNewLeader?.(lease.record.holderIdentity);
    this.observed = lease;
  }

  /** Whether the record has not changed for its lease duration by our clock. */
  private observedExpired(record: LeaseRecord): boolean {
    return this.observedAtMs + record.leaseDurationSeconds * 1000 <= this.now();
  }

  private startLeading(): void {
    const ctl = new AbortController();
    this.leading = ctl;
    this.opts.log.info({ identity: this.opts.identity }, "became leader");
    try {
      this.opts.onStartedLeading(ctl.signal);
    } catch (err) {
      this.opts.log.error({ err: err instanceof Error ? err.message : String(err) }, "onStartedLeading threw");
    }
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const remaining = this.lastRenewMs + this.renewDeadlineMs - this.now();
    this.deadlineTimer = setTimeout(() => this.stepDown("renew deadline passed"), Math.max(0, remaining));
    this.deadlineTimer.unref();
  }

  private stepDown(reason: string): void {
    clearTimeout(this.deadlineTimer);
    const ctl = this.leading;
    if (!ctl) return;
    this.leading = undefined;
    this.opts.log.info({ identity: this.opts.identity, reason }, "stopped leading");
    ctl.abort(new Error(`leadership lost: ${reason}`));
    try {
      this.opts.onStoppedLeading?.();
    } catch (err) {
      this.opts.log.error({ err: err instanceof Error ? err.message : String(err) }, "onStoppedLeading threw");
    }
  }

  /** Hands the Lease back if it is still ours; a failure only delays the successor by the lease duration. */
  private async release(): Promise<void> {
    try {
      const current = await this.opts.store.get();
      if (!current || current.record.holderIdentity !== this.opts.identity) return;
      const now = this.now();
      await this.opts.store.update({ ...current.record, holderIdentity: "", leaseDurationSeconds: 1, renewTimeMs: now }, current.resourceVersion);
    } catch (err) {
      this.opts.log.warn({ identity: this.opts.identity, err: describeApiError(err) }, "lease release failed");
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec;
  // client-node types MicroTime fields as V1MicroTime but leaves the wire string in place on reads.
  const acquire = timeFieldMs(spec?.acquireTime);
  const renew = timeFieldMs(spec?.renewTime);
  return {
    holderIdentity: spec?.holderIdentity ?? "",
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTimeMs: acquire ?? 0,
    renewTimeMs: renew ?? 0,
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

function toStored(lease: V1Lease): StoredLease {
  return { record: toRecord(lease), resourceVersion: lease.metadata?.resourceVersion ?? "" };
}

function toSpec(record: LeaseRecord): V1Lease["spec"] {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    // Six fractional digits: the API server rejects the three of Date.toISOString with a 400.
    acquireTime: microTime(record.acquireTimeMs),
    renewTime: microTime(record.renewTimeMs),
    leaseTransitions: record.leaseTransitions,
  };
}

/** The Lease `name` in `namespace` through client-node's CoordinationV1Api. */
export function kubeLeaseStore(api: CoordinationV1Api, namespace: string, name: string): LeaseStore {
  return {
    async get() {
      try {
        return toStored(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async create(record) {
      return toStored(await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: toSpec(record) } }));
    },
    async update(record, resourceVersion) {
      return toStored(await api.replaceNamespacedLease({ name, namespace, body: { metadata: { name, namespace, resourceVersion }, spec: toSpec(record) } }));
    },
  };
}
