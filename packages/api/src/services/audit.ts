import type { PrismaClient } from "../db";
import { toAuditEventDto } from "../dto/audit";
import { toPage } from "../lib/cursor";
import { auditRepository, type AuditFilters } from "../repositories/audit";
import type { OrgScope } from "../scope";

export class AuditService {
  constructor(private readonly prisma: PrismaClient) {}

  async list(scope: OrgScope, filters: AuditFilters, page: { cursor?: string | undefined; limit: number }) {
    const rows = await auditRepository(this.prisma).list(scope.organizationId, filters, page);
    const { rows: items, nextCursor } = toPage(rows, page.limit);
    return { items: items.map(toAuditEventDto), nextCursor };
  }
}
