/** Generated names and hashes the workload controllers use. */
import { randomInt } from "node:crypto";

/** apimachinery's rand alphabet: no vowels (no words) and no look-alikes (0/o, 1/l). */
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

/** `<5 random chars>`, as `generateName` and the ReplicaSet controller's pod names use. */
export function randomSuffix(length = 5): string {
  let out = "";
  for (let i = 0; i < length; i++) out += safeAlphabet[randomInt(safeAlphabet.length)] ?? "x";
  return out;
}

/**
 * The pod-template-hash: FNV-1a 32 over the template's canonical JSON, its decimal digits mapped
 * through the safe alphabet (rand.SafeEncodeString), so at most 10 chars. kcm hashes Go's spew dump
 * of the template instead, so the value differs from a real cluster's, but it is as stable.
 */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = canonicalJson(template) + (collisionCount > 0 ? String(collisionCount) : "");
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((d) => safeAlphabet[Number(d)] ?? "x").join("");
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
