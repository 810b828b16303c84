/**
 * A node's membership of the cluster: its record under `nodes/<id>`, attached
 * to a lease kept alive while the node can reach etcd. The record (addresses,
 * labels, capacity, KEK fingerprint) is what placement, the controller and
 * peers dialling its replicas read; the lease going is how the others learn
 * the node is dead.
 */
import { keys, type NodeLabels, type NodeRecord } from "../consensus/records";
import type { ConsensusStore } from "../consensus/store";
import type { Logger } from "../logger";
import type { Pool } from "../pool/pool";

export type NodeLease = Awaited<ReturnType<ConsensusStore["grantLease"]>>;

export interface NodeRegistrationOptions {
  nodeId: string;
  store: ConsensusStore;
  leaseTtlSec: number;
  labels: NodeLabels;
  overcommit: number | undefined;
  /** Fingerprint of this node's key-encryption key, if it has one. */
  kekId: string | undefined;
  /** The addresses peers and clients reach this node at (the replication one is set once listening). */
  addresses: { readonly replication: string; readonly nbd?: string; readonly admin?: string };
  /** The node's pool, once open. */
  pool: () => Pool | undefined;
  /** Whether the node is stopping: a lease lost then is not renewed. */
  stopping: () => boolean;
  /**
   * The lease was lost: cut off from etcd long enough that another node may
   * be the target of this one's volumes now.
   */
  onLeaseLost: () => void;
  /** Registered again after losing the lease. */
  onRegisteredAgain: () => void;
  logger: Logger;
}

export class NodeRegistration {
  private current: NodeLease | null = null;
  private publishedProvisioned = -1;

  constructor(private readonly opts: NodeRegistrationOptions) {}

  /** The node's lease while it holds one (the controller's key and the node record hang on it). */
  get lease(): NodeLease | null {
    return this.current;
  }

  private record(): NodeRecord {
    const { opts } = this;
    const pool = opts.pool();
    if (!pool) throw new Error("pool not open");
    return {
      v: 1,
      id: opts.nodeId,
      address: opts.addresses.replication,
      labels: opts.labels,
      capacityBytes: pool.capacityBytes,
      provisionedBytes: pool.provisionedBytes,
      overcommit: opts.overcommit ?? 2,
      healthy: pool.health().state !== "failed",
      ...(opts.addresses.nbd === undefined ? {} : { nbd: opts.addresses.nbd }),
      ...(opts.addresses.admin === undefined ? {} : { admin: opts.addresses.admin }),
      ...(opts.kekId === undefined ? {} : { kekId: opts.kekId }),
    };
  }

  /** Grants a lease and publishes the node record on it. */
  async register(): Promise<void> {
    const lease = await this.opts.store.grantLease(this.opts.leaseTtlSec);
    this.current = lease;
    lease.onLost((err) => {
      if (this.opts.stopping()) return;
      this.opts.logger.warn({ err: err.message }, "node lease lost; registering again");
      if (this.current === lease) this.current = null;
      this.opts.onLeaseLost();
      void this.registerAgain();
    });
    const record = this.record();
    await lease.put(keys.node(this.opts.nodeId), record);
    this.publishedProvisioned = record.provisionedBytes;
  }

  private async registerAgain(): Promise<void> {
    while (!this.opts.stopping() && !this.current) {
      try {
        await this.register();
        this.opts.logger.info({}, "node registered again");
        this.opts.onRegisteredAgain();
        return;
      } catch (err) {
        this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "node registration failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Publishes the record again if what placement reads of it (provisioned bytes) changed. */
  async republishIfChanged(): Promise<void> {
    const lease = this.current;
    if (!lease || !this.opts.pool()) return;
    const record = this.record();
    if (record.provisionedBytes === this.publishedProvisioned) return;
    await lease.put(keys.node(this.opts.nodeId), record);
    this.publishedProvisioned = record.provisionedBytes;
  }

  /** Revokes the lease: the record goes at once, so others take over without waiting for the TTL. */
  async revoke(): Promise<void> {
    await this.current?.revoke();
  }
}
