/**
 * The data key of an encrypted replicated volume, as its target needs it: the
 * record holds it wrapped by a key-encryption key (KEK) and a key check value;
 * only the node serving the volume holds it unwrapped, in memory.
 */
import type { VolumeRecord } from "../consensus/records";
import { verifyDataKeyCheck } from "../crypto/xts";
import type { KmsProvider } from "./provider";
import type { Logger } from "../logger";

/** This node's KEK: the provider that (un)wraps with it, and its fingerprint. */
export interface NodeKek {
  provider: KmsProvider;
  kekId: string;
}

/**
 * The data key of an encrypted volume, unwrapped with this node's KEK and
 * checked against the record's key check value. Throws with the reason when
 * this node cannot serve the volume; nothing has touched a replica by then,
 * so the current epoch stays usable by a node that can. `refusal` remembers
 * the last reason, so each new one is logged once.
 */
export async function unwrapDataKey(rec: VolumeRecord, kms: NodeKek | undefined, refusal: { keyRefusal: string | null }, log: Logger): Promise<Buffer> {
  const enc = rec.encryption;
  let reason: string;
  if (!enc) reason = "the volume record has no wrapped data key";
  else if (!kms) reason = "this node has no key-encryption key (--kms-key-file)";
  else {
    try {
      const key = await kms.provider.unwrapKey(enc.wrappedKey, { volumeId: rec.id });
      if (key.length === 64 && verifyDataKeyCheck(key, enc.keyCheck)) {
        refusal.keyRefusal = null;
        return key;
      }
      key.fill(0);
      reason = "the unwrapped data key does not match the volume's key check value";
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
  }
  if (refusal.keyRefusal !== reason) {
    refusal.keyRefusal = reason;
    log.error({ volume: rec.id, epoch: rec.epoch, kekId: kms?.kekId ?? null, wrappedWith: enc?.wrappedKey.keyId ?? null, reason }, "refusing to serve encrypted volume");
  }
  throw new Error(`volume ${rec.id}: this node cannot serve the encrypted volume: ${reason}`);
}
