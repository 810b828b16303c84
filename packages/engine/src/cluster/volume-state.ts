/** What this node holds of one cluster volume: its record as last applied, its local replicas, its target. */
import type { VolumeRecord } from "../consensus/records";
import type { EncryptedDevice } from "../crypto/encrypted-device";
import type { VolumeTarget } from "../replication/target";
import type { LocalReplica } from "./local-replicas";

/** This node serving the volume as its target. */
export interface Attached {
  epoch: number;
  target: VolumeTarget;
  /** What NBD serves: the target itself, or the encrypting device in front of it. */
  device: VolumeTarget | EncryptedDevice;
  /** Catch-ups (resync or rebuild) running on this target, by replica id. */
  catchUps: Map<string, Promise<void>>;
}

/** Local state of one volume; every change to it runs through its queue, in order. */
export class VolumeState {
  record: VolumeRecord | null = null;
  revision = -1n;
  readonly replicas = new Map<string, LocalReplica>();
  attached: Attached | null = null;
  /** A target at this epoch was fenced; never attach at it again. */
  fencedEpoch = -1;
  /** Why this node last refused to serve the (encrypted) volume; logged once per new reason. */
  keyRefusal: string | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly id: string) {}

  enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
