import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import {
  AGENT_PROTOCOL_VERSION,
  type CommandStatusRequest,
  type Inventory,
  type KubernetesInventory,
  type TelemetryBatch,
  type VolumeSample,
} from "@stowage/agent-protocol";
import { type Api, createApi } from "@stowage/api";
import type { Role } from "@stowage/api/client";
import { test as base, expect, type Page } from "@playwright/test";

export type { Role };

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

/** A cluster whose agent has registered and reported, as seeded by `seedFleet`. */
export interface SeededFleet {
  cluster: { id: string; name: string };
  inventory: Inventory;
  /** Our ids of the seeded volumes, by name. */
  volumeIds: Map<string, string>;
  /** Sends another telemetry batch as the agent: the inventory (changed by `change`) and fresh samples. */
  ingest: (change?: (inv: Inventory) => Inventory) => Promise<void>;
  /** Sends a telemetry batch carrying the cluster's Kubernetes side, as an agent running in Kubernetes does. */
  reportKubernetes: (kubernetes: KubernetesInventory) => Promise<void>;
  /** The newest command queued for the cluster. */
  latestCommand: () => Promise<{ id: string; type: string; params: Record<string, unknown> }>;
  /** Reports a command's status as the agent would. */
  reportCommand: (commandId: string, status: Omit<CommandStatusRequest, "protocolVersion">) => Promise<void>;
}

const GiB = 1024 ** 3;

function fleetInventory(prefix: string): Inventory {
  const zones = ["a", "b", "c"];
  const nodes = zones.map((zone, i) => ({
    id: `${prefix}-node-${zone}`,
    name: `node-${zone}`,
    zone: `zone-${zone}`,
    rack: `rack-${i + 1}`,
    status: "up" as const,
    pool: { capacityBytes: 2000 * GiB, allocatedBytes: (400 + 300 * i) * GiB, provisionedBytes: (600 + 300 * i) * GiB, health: "healthy" as const },
  }));
  const volumes = ["orders-db", "search-index"].map((name, i) => ({
    id: `${prefix}-vol-${i}`,
    name,
    sizeBytes: (50 + 50 * i) * GiB,
    replicaCount: 3,
    encrypted: i === 0,
    targetNodeId: nodes[0]?.id ?? null,
    // search-index has a replica catching up (below), so the agent calls it degraded.
    state: i === 1 ? ("degraded" as const) : ("healthy" as const),
  }));
  const replicas = volumes.flatMap((v) =>
    nodes.map((n, j) => ({
      id: `${v.id}-r${j}`,
      volumeId: v.id,
      nodeId: n.id,
      // One replica of the second volume is catching up, to show resync progress.
      state: v.name === "search-index" && j === 2 ? ("resyncing" as const) : ("healthy" as const),
      progress: v.name === "search-index" && j === 2 ? 0.42 : null,
    })),
  );
  return { nodes, volumes, replicas, snapshots: [] };
}

/** Six samples per volume over the last minute, with a gentle slope so charts have a shape. */
function samplesFor(inv: Inventory, now: number): VolumeSample[] {
  return inv.volumes.flatMap((v, vi) =>
    Array.from({ length: 6 }, (_, k) => ({
      volumeId: v.id,
      at: new Date(now - (5 - k) * 10_000).toISOString(),
      readIops: 800 + 100 * k + 500 * vi,
      writeIops: 300 + 40 * k + 200 * vi,
      readBytesPerSec: (20 + 2 * k) * 1024 ** 2,
      writeBytesPerSec: (8 + k) * 1024 ** 2,
      latencyP50Us: 250 + 10 * k,
      latencyP99Us: 1800 + 100 * k,
      usedBytes: (10 + vi * 5) * GiB,
      ioErrors: 0,
    })),
  );
}

interface Factories {
  /** A user signed up through better-auth (no organization). */
  createUser: (opts?: { name?: string; email?: string; password?: string }) => Promise<TestUser>;
  /** An organization owned by `owner`. */
  createOrg: (owner: TestUser, opts?: { name?: string }) => Promise<TestOrg>;
  addMember: (org: TestOrg, user: TestUser, role: Role) => Promise<{ memberId: string }>;
  createCluster: (org: TestOrg, name?: string) => Promise<{ id: string; name: string }>;
  createApiKey: (org: TestOrg, opts?: { name?: string; role?: Exclude<Role, "owner"> }) => Promise<{ id: string; name: string; secret: string }>;
  /**
   * Registers a cluster's agent through the services and ingests a telemetry
   * batch: three nodes in zones a/b/c, two volumes with three replicas each,
   * a minute of non-zero I/O samples.
   */
  seedFleet: (org: TestOrg, name?: string) => Promise<SeededFleet>;
  /** Signs in through the auth API (cookies land in the page's context) and opens `org`. */
  signIn: (page: Page, user: TestUser, org?: TestOrg) => Promise<void>;
}

/**
 * Opens `path` and waits until it is fully rendered: its level-1 heading
 * (`heading`, or any), the suspended parts (tables, charts) streamed in after
 * it, and the load event, so checks see the page rather than a skeleton.
 */
export async function openPage(page: Page, path: string, heading?: string | RegExp): Promise<void> {
  await page.goto(path);
  await expect(heading === undefined ? page.getByRole("heading", { level: 1 }).first() : page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
  await expect(page.locator(".animate-pulse")).toHaveCount(0);
  await page.waitForLoadState("load");
}

/**
 * Signs in an owner of a new organization with a seeded fleet and an API key,
 * so every signed-in page has something to show; returns the fleet and those
 * pages with their headings (undefined: whatever level-1 heading the page has).
 */
export async function signInToSeededDashboard(
  fx: Pick<Factories, "createUser" | "createOrg" | "seedFleet" | "createApiKey" | "signIn">,
  page: Page,
  ownerName: string,
): Promise<{ fleet: SeededFleet; pages: Array<[path: string, heading: string | undefined]> }> {
  const owner = await fx.createUser({ name: ownerName });
  const org = await fx.createOrg(owner);
  const fleet = await fx.seedFleet(org);
  await fx.createApiKey(org);
  await fx.signIn(page, owner, org);
  const volumeId = fleet.volumeIds.get("orders-db");
  if (!volumeId) throw new Error("the seeded fleet has no orders-db volume");
  const now = new Date();
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  const pages: Array<[string, string | undefined]> = [
    ["/fleet", "Fleet overview"],
    ["/clusters", "Clusters"],
    [`/clusters/${fleet.cluster.id}`, fleet.cluster.name],
    [`/volumes/${volumeId}`, "orders-db"],
    ["/alerts", undefined],
    ["/members", undefined],
    ["/api-keys", undefined],
    ["/audit-log", undefined],
    ["/billing", "Billing"],
    ["/billing/invoices", "Invoices"],
    [`/billing/invoices/draft-${month}`, undefined],
    [`/billing/explain?month=${month}&cluster=${fleet.cluster.id}&unit=node_hour`, undefined],
    [`/billing/showback?cluster=${fleet.cluster.id}&month=${month}`, "Showback"],
    ["/billing/budgets", "Budgets"],
    ["/billing/rates", "Rate cards"],
    ["/billing/rates/new", "Schedule a rate card"],
    ["/billing/exclusions", "Node exclusions"],
    ["/billing/settings", "Billing settings"],
    ["/docs/api", undefined],
  ];
  return { fleet, pages };
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

  seedFleet: async ({ api }, use) => {
    await use(async (org, name = unique("cluster")) => {
      const scope = scopeOf(org);
      const created = await api.services.cluster.create(scope, { name });
      const reg = await api.services.agent.register(
        { protocolVersion: AGENT_PROTOCOL_VERSION, joinToken: created.joinToken, agentVersion: "0.1.0-e2e", kubernetesVersion: "v1.31.2", instanceId: randomUUID() },
        { ip: null, userAgent: null },
      );
      await api.services.agent.heartbeat(reg.credential, { protocolVersion: AGENT_PROTOCOL_VERSION, agentVersion: "0.1.0-e2e", sentAt: new Date().toISOString(), nodeCount: 3 });
      const agent = await api.services.agent.authenticate(reg.credential);
      if (!agent) throw new Error("the registered agent's credential was not accepted");
      let inventory = fleetInventory(randomBytes(3).toString("hex"));
      let sequence = 0;
      const send = async (kubernetes: KubernetesInventory | null) => {
        const now = Date.now();
        const batch: TelemetryBatch = {
          protocolVersion: AGENT_PROTOCOL_VERSION,
          batchId: randomUUID(),
          sequence: sequence++,
          sentAt: new Date(now).toISOString(),
          droppedBatches: 0,
          inventory,
          volumeSamples: samplesFor(inventory, now),
          poolSamples: inventory.nodes.map((n) => ({ nodeId: n.id, at: new Date(now).toISOString(), capacityBytes: n.pool.capacityBytes, allocatedBytes: n.pool.allocatedBytes, health: n.pool.health })),
          ...(kubernetes ? { kubernetes } : {}),
        };
        await api.services.telemetry.ingest(agent, batch);
      };
      const ingest = async (change?: (inv: Inventory) => Inventory) => {
        if (change) inventory = change(inventory);
        await send(null);
      };
      await ingest();
      const listed = await api.services.fleet.listVolumes(scope, { clusterId: created.cluster.id }, { limit: 100 });
      return {
        cluster: { id: created.cluster.id, name: created.cluster.name },
        get inventory() {
          return inventory;
        },
        volumeIds: new Map(listed.items.map((v) => [v.name, v.id])),
        ingest,
        reportKubernetes: send,
        latestCommand: async () => {
          const page = await api.services.command.list(scope, { clusterId: created.cluster.id }, { limit: 1 });
          const c = page.items[0];
          if (!c) throw new Error("no command queued for the cluster");
          return { id: c.id, type: c.type, params: c.params };
        },
        reportCommand: async (commandId, status) => {
          await api.services.command.report(agent, commandId, { protocolVersion: AGENT_PROTOCOL_VERSION, ...status });
        },
      };
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
