/**
 * Test fixtures: a fresh migrated database per test file and an Api over it,
 * with users, organizations and roles seeded through the services (never by
 * writing tables directly), in the spirit of cal.com's fixtures.
 */
import { randomBytes } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@stowage/testing";
import { createApi, type Api } from "../api";
import { systemActor } from "../actor";
import type { Role } from "../auth/roles";
import type { ApiConfig } from "../config";
import { createLogger } from "../lib/logger";
import { appRouter } from "../root";
import { createCallerFactory, type Context, type Principal } from "../trpc";

export const BASE_URL = "http://localhost:3000";
export const TEST_IP = "203.0.113.7";
export const TEST_UA = "stowage-tests/1.0";

export interface TestApi {
  api: Api;
  db: TestDatabase;
  close(): Promise<void>;
}

export async function createTestApi(overrides: Partial<ApiConfig> = {}): Promise<TestApi> {
  const db = await createTestDatabase();
  const api = createApi({
    databaseUrl: db.url,
    baseUrl: BASE_URL,
    authSecret: "test-secret-0123456789abcdef0123456789abcdef",
    logger: createLogger({ level: "silent" }),
    databasePoolSize: 4,
    ...overrides,
  });
  return {
    api,
    db,
    close: async () => {
      await api.close();
      await db.drop();
    },
  };
}

export interface TestUser {
  id: string;
  email: string;
  name: string;
  password: string;
}

export function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}@example.test`;
}

/** A user who can sign in with `password` (better-auth sign-up; slow on purpose: it hashes the password). */
export async function signUpUser(api: Api, label: string): Promise<TestUser> {
  const email = uniqueEmail(label);
  const password = `pw-${randomBytes(8).toString("hex")}`;
  const res = await api.auth.api.signUpEmail({ body: { email, password, name: label } });
  return { id: res.user.id, email, name: label, password };
}

/**
 * A user without a password, through better-auth's own user store: enough
 * for callers built with createCaller, and it skips the deliberately slow
 * password hash that would dominate the suite's run time.
 */
export async function createUser(api: Api, label: string): Promise<TestUser> {
  const email = uniqueEmail(label);
  const ctx = await api.auth.$context;
  const user = await ctx.internalAdapter.createUser({ email, name: label });
  return { id: user.id, email, name: label, password: "" };
}

export interface TestOrg {
  id: string;
  slug: string;
  users: Record<Role, TestUser>;
  members: Record<Role, string>;
}

/** An organization with one user per role. */
export async function createOrgWithRoles(api: Api, label: string): Promise<TestOrg> {
  const owner = await createUser(api, `${label}-owner`);
  const slug = `${label}-${randomBytes(3).toString("hex")}`;
  const org = await api.prisma.$transaction((tx) =>
    api.services.organization.createWithOwner(tx, { name: label, slug, ownerUserId: owner.id }, systemActor("fixtures")),
  );
  const scope = { organizationId: org.id, role: "owner" as const, actor: systemActor("fixtures") };
  const users: Record<Role, TestUser> = {
    owner,
    admin: await createUser(api, `${label}-admin`),
    operator: await createUser(api, `${label}-operator`),
    viewer: await createUser(api, `${label}-viewer`),
    billing: await createUser(api, `${label}-billing`),
  };
  const memberId = async (role: Role) =>
    role === "owner"
      ? ((await api.services.organization.members(scope)).find((m) => m.userId === owner.id)?.id ?? "")
      : (await api.services.organization.addMember(scope, { userId: users[role].id, role })).id;
  const members: Record<Role, string> = {
    owner: await memberId("owner"),
    admin: await memberId("admin"),
    operator: await memberId("operator"),
    viewer: await memberId("viewer"),
    billing: await memberId("billing"),
  };
  return { id: org.id, slug, users, members };
}

export function userPrincipal(user: TestUser, activeOrganizationId: string | null): Principal {
  return { type: "user", userId: user.id, email: user.email, name: user.name, sessionId: "test-session", activeOrganizationId };
}

export function contextFor(api: Api, principal: Principal | null): Context {
  return {
    services: api.services,
    log: api.log,
    request: { requestId: "test", ip: TEST_IP, userAgent: TEST_UA },
    principal,
  };
}

export const createCaller = createCallerFactory(appRouter);

export function callerFor(api: Api, user: TestUser | null, organizationId: string | null = null) {
  return createCaller(contextFor(api, user ? userPrincipal(user, organizationId) : null));
}

/** An API key of `role` in `organizationId`, created through the service. */
export async function createApiKey(api: Api, organizationId: string, role: Role, name = `${role} key`): Promise<{ id: string; secret: string }> {
  const res = await api.services.apiKey.create({ organizationId, role: "owner", actor: systemActor("fixtures") }, { name, role });
  return { id: res.apiKey.id, secret: res.secret };
}

/** The value at a dotted path of parsed JSON, for assertions without casts. */
export function at(value: unknown, path: string): unknown {
  let node: unknown = value;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = Reflect.get(node, key);
  }
  return node;
}

export function str(value: unknown, path: string): string {
  const v = at(value, path);
  if (typeof v !== "string") throw new Error(`expected a string at ${path}, got ${JSON.stringify(v)}`);
  return v;
}
