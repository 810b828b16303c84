import { createHash } from "node:crypto";
import type { PrismaClient } from "../db";
import type { Logger } from "../lib/logger";
import { Sealer } from "../lib/sealed";
import { IN_FLIGHT, idempotencyRepository } from "../repositories/idempotency";

/** Keys are remembered this long (Stripe's convention). */
const RETENTION_MS = 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Same JSON meaning, same hash: key order and whitespace do not matter. */
export function requestHash(body: unknown): string {
  return createHash("sha256").update(canonical(body)).digest("hex");
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type IdempotencyOutcome =
  | { kind: "fresh"; response: StoredResponse }
  | { kind: "replayed"; response: StoredResponse }
  | { kind: "mismatch" }
  | { kind: "in-flight" };

/**
 * Runs a creating request at most once per (organization, route, key).
 *
 * The key is claimed with an in-flight row before the work starts, so two
 * concurrent retries cannot both create; the loser is told to retry. Every
 * answer below 500 is remembered and replayed, errors included (as Stripe
 * does); a 500 or a crash releases the key so a retry can succeed.
 *
 * Stored bodies are sealed (AES-256-GCM, key derived from the auth secret):
 * the response of POST /clusters carries a one-time join token, and a
 * database dump or replica must not hand it out. A body that no longer opens
 * (the auth secret was rotated) is treated as absent and the key released.
 */
export class IdempotencyStore {
  private lastPurge = 0;
  private readonly sealer: Sealer;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: Logger,
    authSecret: string,
  ) {
    this.sealer = new Sealer(authSecret, "idempotency-response-body");
  }

  private static aad(organizationId: string, route: string, key: string): string {
    return `${organizationId}\n${route}\n${key}`;
  }

  async run(
    scope: { organizationId: string; route: string; key: string; hash: string },
    work: () => Promise<StoredResponse>,
  ): Promise<IdempotencyOutcome> {
    this.maybePurge();
    const repo = idempotencyRepository(this.prisma);
    const { organizationId, route, key, hash } = scope;
    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await repo.find(organizationId, route, key);
      if (existing && Date.now() - existing.createdAt.getTime() > RETENTION_MS) {
        await repo.release(organizationId, route, key);
        continue;
      }
      if (existing) {
        if (existing.requestHash !== hash) return { kind: "mismatch" };
        if (existing.status === IN_FLIGHT) return { kind: "in-flight" };
        const opened = this.sealer.open(existing.body, IdempotencyStore.aad(organizationId, route, key));
        if (!opened) {
          this.log.warn({ organizationId, route }, "stored idempotent response unreadable; releasing the key");
          await repo.release(organizationId, route, key);
          continue;
        }
        const body: unknown = JSON.parse(opened.toString("utf8"));
        return { kind: "replayed", response: { status: existing.status, body } };
      }
      if (await repo.claim(organizationId, route, key, hash)) {
        let response: StoredResponse;
        try {
          response = await work();
        } catch (err) {
          await repo.release(organizationId, route, key);
          throw err;
        }
        if (response.status >= 500) await repo.release(organizationId, route, key);
        else {
          const plain = Buffer.from(JSON.stringify(response.body ?? null), "utf8");
          await repo.complete(organizationId, route, key, response.status, this.sealer.seal(plain, IdempotencyStore.aad(organizationId, route, key)));
        }
        return { kind: "fresh", response };
      }
    }
    return { kind: "in-flight" };
  }

  private maybePurge(): void {
    const now = Date.now();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    idempotencyRepository(this.prisma)
      .purgeOlderThan(new Date(now - RETENTION_MS))
      .catch((err: unknown) => this.log.warn({ err }, "idempotency purge failed"));
  }
}
