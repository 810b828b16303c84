import type { ApiKey } from "@stowage/prisma";
import type { Actor } from "../actor";
import { isRole, roleAtLeast, type Role } from "../auth/roles";
import type { Db, PrismaClient } from "../db";
import { toApiKeyDto, type ApiKeyDto, type CreatedApiKeyDto } from "../dto/api-key";
import { AppError } from "../errors";
import { toPage } from "../lib/cursor";
import { callLog, type Logger, type RequestScoped } from "../lib/logger";
import { generateSecret, hashSecret } from "../lib/secrets";
import { apiKeyRepository } from "../repositories/api-key";
import { auditRepository } from "../repositories/audit";
import type { OrgScope } from "../scope";

export const API_KEY_PREFIX = "stk_";
/** lastUsedAt is a hint, not a log: writing it at most once a minute keeps hot keys from costing a write per call. */
const TOUCH_INTERVAL_MS = 60_000;

export interface AuthenticatedApiKey {
  id: string;
  organizationId: string;
  name: string;
  prefix: string;
  role: Role;
}

function displayPrefix(secret: string): string {
  return secret.startsWith(API_KEY_PREFIX) ? secret.slice(0, API_KEY_PREFIX.length + 6) : secret.slice(0, Math.min(6, Math.floor(secret.length / 4)));
}

export function apiKeyActorLabel(key: { name: string; prefix: string }): string {
  return `${key.name} (${key.prefix}…)`;
}

export class ApiKeyService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: Logger,
  ) {}

  async create(scope: OrgScope, input: { name: string; role: Role }): Promise<CreatedApiKeyDto> {
    if (!roleAtLeast(scope.role, input.role)) {
      throw new AppError("FORBIDDEN", `A ${scope.role} cannot create a key with role ${input.role}`);
    }
    const secret = generateSecret(API_KEY_PREFIX);
    const key = await this.prisma.$transaction((tx) => this.insert(tx, scope.organizationId, scope.actor, { ...input, secret }, scope));
    return { apiKey: toApiKeyDto(key), secret };
  }

  /** Stores a key whose secret the caller chose (bootstrap) or generated; audits it in the same transaction. */
  async insert(db: Db, organizationId: string, actor: Actor, input: { name: string; role: Role; secret: string }, scoped?: RequestScoped): Promise<ApiKey> {
    const key = await apiKeyRepository(db).create(organizationId, {
      name: input.name,
      role: input.role,
      prefix: displayPrefix(input.secret),
      secretHash: hashSecret(input.secret),
      createdById: actor.type === "user" || actor.type === "api_key" ? actor.id : null,
    });
    await auditRepository(db).insert(organizationId, actor, {
      action: "api_key.create",
      targetType: "api_key",
      targetId: key.id,
      metadata: { name: key.name, role: key.role },
    });
    callLog(this.log, "api-key", scoped).info({ organizationId, apiKeyId: key.id }, "api key created");
    return key;
  }

  async list(scope: OrgScope, page: { cursor?: string | undefined; limit: number }) {
    const rows = await apiKeyRepository(this.prisma).list(scope.organizationId, page);
    const { rows: items, nextCursor } = toPage(rows, page.limit);
    return { items: items.map(toApiKeyDto), nextCursor };
  }

  async revoke(scope: OrgScope, id: string): Promise<ApiKeyDto> {
    const key = await this.prisma.$transaction(async (tx) => {
      const keys = apiKeyRepository(tx);
      const found = await keys.findById(scope.organizationId, id);
      if (!found) throw new AppError("NOT_FOUND", "API key not found");
      if (found.revokedAt) return found;
      if (isRole(found.role) && !roleAtLeast(scope.role, found.role)) {
        throw new AppError("FORBIDDEN", `A ${scope.role} cannot revoke a key with role ${found.role}`);
      }
      const revoked = await keys.revoke(scope.organizationId, id, new Date());
      await auditRepository(tx).insert(scope.organizationId, scope.actor, {
        action: "api_key.revoke",
        targetType: "api_key",
        targetId: id,
        metadata: { name: found.name },
      });
      return revoked ?? found;
    });
    return toApiKeyDto(key);
  }

  /** The key a presented secret belongs to, if it is live; records its use. */
  async authenticate(secret: string): Promise<AuthenticatedApiKey | null> {
    if (secret.length < 16 || secret.length > 512) return null;
    const keys = apiKeyRepository(this.prisma);
    const key = await keys.findByHash(hashSecret(secret));
    if (!key || key.revokedAt || !isRole(key.role)) return null;
    const now = new Date();
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await keys.touch(key.organizationId, key.id, now);
    }
    return { id: key.id, organizationId: key.organizationId, name: key.name, prefix: key.prefix, role: key.role };
  }
}
