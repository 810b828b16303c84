import { createHash } from "node:crypto";
import type { Prisma } from "@stowage/prisma";
import type { PrismaClient } from "../db";
import type { Logger } from "../lib/logger";
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

function toJsonOrNull(value: unknown): Prisma.InputJsonValue | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(toJsonOrNull);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonOrNull(v)]));
  return null;
}

/** A parsed JSON body as Prisma's JSON input type (a top-level null is stored as {}). */
function toJson(value: unknown): Prisma.InputJsonValue {
  return toJsonOrNull(value) ?? {};
}

/**
 * Runs a creating request at most once per (organization, route, key).
 *
 * The key is claimed with an in-flight row before the work starts, so two
 * concurrent retries cannot both create; the loser is told to retry. Every
 * answer below 500 is remembered and replayed, errors included (as Stripe
 * does); a 500 or a crash releases the key so a retry can succeed. The
 * stored response of POST /clusters contains the join token: it lives no
 * longer than the record (24 h), the token's own lifetime.
 */
export class IdempotencyStore {
  private lastPurge = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: Logger,
  ) {}

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
        return { kind: "replayed", response: { status: existing.status, body: existing.body } };
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
        else await repo.complete(organizationId, route, key, response.status, toJson(response.body));
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
