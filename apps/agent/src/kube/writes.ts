/**
 * Writes that never overwrite blindly: every update carries the
 * resourceVersion it was computed from, and a 409 means re-read, re-apply the
 * same mutation to what is there now, and try again (bounded). Plus the two
 * naming facts every controller needs: deterministic names (a retried create
 * finds its own object instead of making a twin) and owner references.
 */
import { createHash } from "node:crypto";
import type { V1OwnerReference } from "@kubernetes/client-node";
import { isConflict } from "./errors";

export interface Versioned {
  metadata?: { resourceVersion?: string };
}

export interface ConflictRetry<T extends Versioned> {
  read(): Promise<T>;
  /** Must send the object's metadata.resourceVersion (the API server answers 409 if it moved). */
  write(next: T): Promise<T>;
  /**
   * The change, applied to a fresh copy of what was read: return the new
   * object, or null when nothing needs writing. Called again after each
   * conflict, so it must derive everything from its argument.
   */
  mutate(current: T): T | null;
}

export class ConflictRetryExhausted extends Error {
  constructor(readonly attempts: number) {
    super(`still conflicting after ${attempts} attempts`);
    this.name = "ConflictRetryExhausted";
  }
}

/** Read → mutate → conditional write, re-read on 409, at most `maxAttempts` writes. Returns what was written (or read, if unchanged). */
export async function updateWithConflictRetry<T extends Versioned>(ops: ConflictRetry<T>, maxAttempts = 5): Promise<T> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await ops.read();
    const next = ops.mutate(structuredClone(current));
    if (next === null) return current;
    const rv = current.metadata?.resourceVersion;
    // Without the RV the write would be unconditional: refuse rather than risk overwriting a newer object.
    if (!rv) throw new Error("the object read has no metadata.resourceVersion: refusing an unconditional write");
    next.metadata = { ...next.metadata, resourceVersion: rv };
    try {
      return await ops.write(next);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new ConflictRetryExhausted(maxAttempts);
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * `<prefix>-<16 hex of sha256(parts)>`: the same inputs give the same name,
 * so a create retried after a timeout gets 409 AlreadyExists for its own
 * object. 16 hex digits (64 bits) make a collision between distinct inputs
 * negligible; the whole stays a DNS label (≤ 63).
 */
export function deterministicName(prefix: string, ...parts: string[]): string {
  if (!DNS_LABEL.test(prefix) || prefix.length > 46) throw new Error(`deterministicName prefix: must be a DNS label of at most 46 characters, got '${prefix}'`);
  const hash = createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16);
  return `${prefix}-${hash}`;
}

export interface OwnerLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string };
}

/**
 * An owner reference to `owner`; `controller: true` marks it the managing
 * controller (one per object), and blockOwnerDeletion keeps a foreground
 * delete of the owner waiting for this object.
 */
export function ownerReference(owner: OwnerLike, opts: { controller?: boolean; blockOwnerDeletion?: boolean } = {}): V1OwnerReference {
  const missing = (["apiVersion", "kind"] as const).find((f) => !owner[f]) ?? (!owner.metadata?.name ? "metadata.name" : !owner.metadata.uid ? "metadata.uid" : undefined);
  if (missing !== undefined) throw new Error(`ownerReference: the owner has no ${missing}`);
  return {
    apiVersion: owner.apiVersion ?? "",
    kind: owner.kind ?? "",
    name: owner.metadata?.name ?? "",
    uid: owner.metadata?.uid ?? "",
    controller: opts.controller ?? true,
    blockOwnerDeletion: opts.blockOwnerDeletion ?? true,
  };
}

/** `refs` with `ref` added, or replacing the reference with the same uid. */
export function withOwnerReference(refs: readonly V1OwnerReference[] | undefined, ref: V1OwnerReference): V1OwnerReference[] {
  return [...(refs ?? []).filter((r) => r.uid !== ref.uid), ref];
}
