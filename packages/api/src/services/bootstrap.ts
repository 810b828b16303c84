import { randomBytes } from "node:crypto";
import { systemActor } from "../actor";
import type { Auth } from "../auth";
import type { PrismaClient } from "../db";
import { AppError } from "../errors";
import type { Logger } from "../lib/logger";
import { organizationRepository } from "../repositories/organization";
import type { ApiKeyService } from "./api-key";
import type { OrganizationService } from "./organization";
import type { OrgScope } from "../scope";

export interface BootstrapOptions {
  adminEmail: string;
  adminPassword: string;
  /** Becomes the secret of the admin API key, exactly as given. */
  apiKeySecret: string;
}

export type BootstrapResult =
  | { created: true; organizationId: string; userId: string; apiKeyId: string }
  | { created: false; reason: "organization-exists" };

export type DemoAdminResult =
  | { created: true; email: string; password: string; organizationSlug: string }
  | { created: false; email: string; organizationSlug: string };

/** Where the local demo fleet registers its clusters, and as whom. */
export interface LocalFleetScope {
  organizationSlug: string;
  scope: OrgScope;
}

export const DEMO_ADMIN_EMAIL = "admin@stowage.local";
export const DEMO_ORGANIZATION = { name: "Demo", slug: "demo" } as const;

// Arbitrary constant: one bootstrap at a time across processes sharing a database.
const BOOTSTRAP_LOCK = 7_341_020_512;

export class BootstrapService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly auth: Auth,
    private readonly organizations: OrganizationService,
    private readonly apiKeys: ApiKeyService,
    private readonly log: Logger,
  ) {}

  /** The user with this email, signed up with `password` if they did not exist. */
  private async ensureUser(email: string, password: string, name: string): Promise<{ id: string; created: boolean }> {
    const existing = await organizationRepository(this.prisma).findUserByEmail(email);
    if (existing) return { id: existing.id, created: false };
    try {
      const res = await this.auth.api.signUpEmail({ body: { email, password, name } });
      return { id: res.user.id, created: true };
    } catch (err) {
      // Lost a race with another process signing the same user up.
      const again = await organizationRepository(this.prisma).findUserByEmail(email);
      if (again) return { id: again.id, created: false };
      throw err;
    }
  }

  /**
   * First start with configuration: organization `default`, its owner, and an
   * admin API key with the given secret. Does nothing once any organization exists.
   */
  async bootstrap(opts: BootstrapOptions): Promise<BootstrapResult> {
    const email = opts.adminEmail.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new AppError("VALIDATION_FAILED", "adminEmail is not an email address", [{ path: "adminEmail", message: "invalid email" }]);
    if (opts.apiKeySecret.length < 16) {
      throw new AppError("VALIDATION_FAILED", "apiKeySecret must be at least 16 characters", [{ path: "apiKeySecret", message: "too short" }]);
    }
    if (await organizationRepository(this.prisma).anyExists()) return { created: false, reason: "organization-exists" };
    const user = await this.ensureUser(email, opts.adminPassword, "Administrator");
    const actor = systemActor("bootstrap");
    const result = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK}::bigint)`;
      if (await organizationRepository(tx).anyExists()) return null;
      const org = await this.organizations.createWithOwner(tx, { name: "Default", slug: "default", ownerUserId: user.id }, actor);
      const key = await this.apiKeys.insert(tx, org.id, actor, { name: "bootstrap admin", role: "admin", secret: opts.apiKeySecret });
      return { organizationId: org.id, apiKeyId: key.id };
    });
    if (!result) return { created: false, reason: "organization-exists" };
    this.log.info({ organizationId: result.organizationId, userId: user.id }, "bootstrapped default organization");
    return { created: true, userId: user.id, ...result };
  }

  /**
   * No configuration given: a demo account, created once. The password is
   * generated, stored only as better-auth's hash, and returned on creation so
   * the start script can print it that one time.
   */
  async ensureDemoAdmin(): Promise<DemoAdminResult> {
    const existing = await organizationRepository(this.prisma).findUserByEmail(DEMO_ADMIN_EMAIL);
    if (existing) return { created: false, email: DEMO_ADMIN_EMAIL, organizationSlug: DEMO_ORGANIZATION.slug };
    const password = randomBytes(12).toString("base64url");
    const user = await this.ensureUser(DEMO_ADMIN_EMAIL, password, "Demo Admin");
    if (!user.created) return { created: false, email: DEMO_ADMIN_EMAIL, organizationSlug: DEMO_ORGANIZATION.slug };
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK}::bigint)`;
      if (await organizationRepository(tx).findBySlug(DEMO_ORGANIZATION.slug)) return;
      await this.organizations.createWithOwner(tx, { ...DEMO_ORGANIZATION, ownerUserId: user.id }, systemActor("bootstrap"));
    });
    this.log.info({ userId: user.id }, "created demo admin");
    return { created: true, email: DEMO_ADMIN_EMAIL, password, organizationSlug: DEMO_ORGANIZATION.slug };
  }

  /**
   * The scope the start script's local demo fleet acts in: the system, as owner
   * of organization `slug`, or of the oldest organization when none is named
   * (a bootstrap that found one already there). Null when there is none.
   */
  async localFleetScope(slug: string | null): Promise<LocalFleetScope | null> {
    const organizations = organizationRepository(this.prisma);
    const org = slug === null ? await organizations.findOldest() : await organizations.findBySlug(slug);
    if (!org) return null;
    return { organizationSlug: org.slug, scope: { organizationId: org.id, role: "owner", actor: systemActor("local-fleet") } };
  }
}
