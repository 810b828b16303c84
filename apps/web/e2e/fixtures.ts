import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Api, createApi } from "@stowage/api";
import { test as base, expect, type Page } from "@playwright/test";

export type Role = "viewer" | "operator" | "admin" | "owner";

export interface TestUser {
  id: string;
  name: string;
  email: string;
  password: string;
}

export interface TestOrg {
  id: string;
  name: string;
  slug: string;
}

interface Scope {
  organizationId: string;
  role: Role;
  actor: { type: "system"; id: string; label: string; ip: null; userAgent: null };
}

const SEED_ACTOR = { type: "system", id: "e2e", label: "e2e seed", ip: null, userAgent: null } as const;

function scopeOf(org: TestOrg, role: Role = "owner"): Scope {
  return { organizationId: org.id, role, actor: { ...SEED_ACTOR } };
}

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** The embedded PostgreSQL the launcher started for this run (see playwright.config.ts). */
function databaseUrl(): string {
  const dataDir = process.env.STOWAGE_E2E_DATA_DIR;
  const port = process.env.STOWAGE_E2E_PG_PORT;
  if (!dataDir || !port) throw new Error("STOWAGE_E2E_DATA_DIR / STOWAGE_E2E_PG_PORT are set by playwright.config.ts");
  const password = fs.readFileSync(path.join(dataDir, "postgres.password"), "utf8").trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/stowage`;
}

function authSecret(): string {
  const dataDir = process.env.STOWAGE_E2E_DATA_DIR ?? "";
  return fs.readFileSync(path.join(dataDir, "auth-secret"), "utf8").trim();
}

interface Factories {
  /** A user signed up through better-auth (no organization). */
  createUser: (opts?: { name?: string; email?: string; password?: string }) => Promise<TestUser>;
  /** An organization owned by `owner`. */
  createOrg: (owner: TestUser, opts?: { name?: string }) => Promise<TestOrg>;
  addMember: (org: TestOrg, user: TestUser, role: Role) => Promise<{ memberId: string }>;
  createCluster: (org: TestOrg, name?: string) => Promise<{ id: string; name: string }>;
  createApiKey: (org: TestOrg, opts?: { name?: string; role?: Exclude<Role, "owner"> }) => Promise<{ id: string; name: string; secret: string }>;
  /** Signs in through the auth API (cookies land in the page's context) and opens `org`. */
  signIn: (page: Page, user: TestUser, org?: TestOrg) => Promise<void>;
}

export const test = base.extend<Factories, { api: Api }>({
  // better-auth limits sign-in attempts per client IP (a few per 10 s), and every
  // test connects from 127.0.0.1. Each test presents its own client address, as
  // separate users would, so parallel tests don't share one bucket.
  extraHTTPHeaders: async ({ extraHTTPHeaders }, use) => {
    const ip = `10.${randomBytes(3).join(".")}`;
    await use({ ...extraHTTPHeaders, "x-forwarded-for": ip });
  },

  api: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from the destructuring pattern
    async ({}, use) => {
      const api = createApi({ databaseUrl: databaseUrl(), baseUrl: `http://localhost:${process.env.STOWAGE_E2E_PORT}`, authSecret: authSecret() });
      await use(api);
      await api.close();
    },
    { scope: "worker" },
  ],

  createUser: async ({ api }, use) => {
    await use(async (opts = {}) => {
      const name = opts.name ?? "Test User";
      const email = opts.email ?? `${unique("user")}@example.test`;
      const password = opts.password ?? `pw-${randomBytes(9).toString("base64url")}`;
      const res = await api.auth.api.signUpEmail({ body: { name, email, password } });
      return { id: res.user.id, name, email, password };
    });
  },

  createOrg: async ({ api }, use) => {
    await use(async (owner, opts = {}) => {
      const name = opts.name ?? unique("Org");
      const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
      const org = await api.services.organization.createWithOwner(api.prisma, { name, slug, ownerUserId: owner.id }, { ...SEED_ACTOR });
      return { id: org.id, name: org.name, slug: org.slug };
    });
  },

  addMember: async ({ api }, use) => {
    await use(async (org, user, role) => {
      const m = await api.services.organization.addMember(scopeOf(org), { userId: user.id, role });
      return { memberId: m.id };
    });
  },

  createCluster: async ({ api }, use) => {
    await use(async (org, name = unique("cluster")) => {
      const created = await api.services.cluster.create(scopeOf(org), { name });
      return { id: created.cluster.id, name: created.cluster.name };
    });
  },

  createApiKey: async ({ api }, use) => {
    await use(async (org, opts = {}) => {
      const created = await api.services.apiKey.create(scopeOf(org), { name: opts.name ?? unique("key"), role: opts.role ?? "admin" });
      return { id: created.apiKey.id, name: created.apiKey.name, secret: created.secret };
    });
  },

  signIn: async ({ baseURL }, use) => {
    await use(async (page, user, org) => {
      const headers = { origin: baseURL ?? "" };
      const res = await page.request.post("/api/auth/sign-in/email", { data: { email: user.email, password: user.password }, headers });
      expect(res.ok(), `sign-in answered ${res.status()}`).toBe(true);
      if (org) {
        const active = await page.request.post("/api/auth/organization/set-active", { data: { organizationId: org.id }, headers });
        expect(active.ok(), `set-active answered ${active.status()}`).toBe(true);
      }
    });
  },
});

export { expect };
