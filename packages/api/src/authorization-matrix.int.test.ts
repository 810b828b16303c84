/**
 * Authorization matrix, generated from the router: every procedure of
 * appRouter is called unauthenticated, with every role, and from another
 * organization. A procedure without a row here fails the suite, so a new
 * procedure cannot ship without its authorization being tested.
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemActor } from "./actor";
import { rateCardSchema } from "@stowage/billing";
import { API_KEY_ROLES } from "@stowage/vocabulary";
import { ROLES, roleAtLeast, type Role } from "./auth/roles";
import { appRouter } from "./root";
import { batch, inventory, kubernetesClaim, kubernetesInventory, registerCluster, sendBatch } from "./test-support/agent";
import { BASE_URL, callerFor, createApiKey, createOrgWithRoles, createTestApi, type TestApi, type TestOrg } from "./test-support/fixtures";

interface Fixtures {
  t: TestApi;
  a: TestOrg;
  b: TestOrg;
  seq: () => number;
}

interface MatrixRow {
  /** Weakest role admitted; null for procedures that need a user but no organization. */
  minRole: Role | null;
  /** A valid input; called afresh for every call, so it may create objects in organization A. */
  input: (f: Fixtures) => Promise<unknown>;
  /** An input naming an object of organization A: a member of B must get NOT_FOUND. */
  foreignInput?: (f: Fixtures) => Promise<unknown>;
}

async function newCluster(f: Fixtures): Promise<string> {
  const res = await callerFor(f.t.api, f.a.users.owner, f.a.id).cluster.create({ name: `c-${f.seq()}` });
  return res.cluster.id;
}

let sharedVolume: Promise<string> | undefined;

/** One volume in organization A, reported by a registered cluster's agent (made once, reused). */
function volumeOfA(f: Fixtures): Promise<string> {
  sharedVolume ??= (async () => {
    const c = await registerCluster(f.t.api, f.a.id);
    const res = await sendBatch(f.t.api, c.credential, batch({ inventory: inventory({ volumes: 1 }) }));
    if (res.status !== 200) throw new Error(`telemetry refused: ${await res.text()}`);
    const vol = await f.t.api.prisma.volume.findFirstOrThrow({ where: { clusterId: c.clusterId } });
    return vol.id;
  })();
  return sharedVolume;
}

let sharedKubernetesCluster: Promise<string> | undefined;

/** A cluster of organization A whose agent reported its Kubernetes side (made once, reused). */
function k8sClusterOfA(f: Fixtures): Promise<string> {
  sharedKubernetesCluster ??= (async () => {
    const c = await registerCluster(f.t.api, f.a.id);
    const kubernetes = kubernetesInventory(new Date(), [kubernetesClaim("shop", "orders-db", "vol-0")]);
    const res = await sendBatch(f.t.api, c.credential, batch({ inventory: inventory({ volumes: 1 }), kubernetes }));
    if (res.status !== 200) throw new Error(`telemetry refused: ${await res.text()}`);
    return c.clusterId;
  })();
  return sharedKubernetesCluster;
}

async function newCommand(f: Fixtures): Promise<string> {
  const scope = { organizationId: f.a.id, role: "owner" as const, actor: systemActor("matrix") };
  return (await f.t.api.services.fleet.createVolume(scope, { clusterId: await newCluster(f), name: `cmd-${f.seq()}`, sizeBytes: 1 << 30, replicas: 1, encrypted: false })).id;
}

async function newBudget(f: Fixtures): Promise<string> {
  const scope = { organizationId: f.a.id, role: "owner" as const, actor: systemActor("matrix") };
  return (await f.t.api.services.billing.createBudget(scope, { name: `budget-${f.seq()}`, amountMinor: "10000", thresholds: [50, 100] })).id;
}

/** A two-year card of organization A in a century of its own, and a valid new end for it. */
async function newRateCardEnd(f: Fixtures): Promise<{ id: string; effectiveTo: string }> {
  const scope = { organizationId: f.a.id, role: "owner" as const, actor: systemActor("matrix") };
  const year = 3000 + 2 * f.seq();
  const card = await f.t.api.services.billing.createRateCard(
    scope,
    rateCardSchema.parse({
      currency: "USD",
      effectiveFrom: `${year}-01-01T00:00:00.000Z`,
      effectiveTo: `${year + 2}-01-01T00:00:00.000Z`,
      nodeHour: { default: [{ upTo: null, unitPriceMinor: "5" }] },
      provisionedGibMonth: [{ upTo: null, unitPriceMinor: "8" }],
      replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4" }],
      freeNodes: 0,
      taxRateBasisPoints: 0,
    }),
  );
  return { id: card.id, effectiveTo: `${year + 1}-01` };
}

/** An active exclusion of a node in a new cluster of organization A. */
async function newExclusion(f: Fixtures): Promise<string> {
  const scope = { organizationId: f.a.id, role: "owner" as const, actor: systemActor("matrix") };
  return (await f.t.api.services.billing.excludeNode(scope, { clusterId: await newCluster(f), nodeId: "node-1", from: new Date(Date.now() - 60_000).toISOString(), reason: "" })).id;
}

/** A finalized invoice of organization A: each call closes a later month (closes go in month order). */
async function finalizedInvoice(f: Fixtures): Promise<string> {
  const month = Date.UTC(2001, f.seq(), 1);
  const outcome = await f.t.api.services.billing.closeMonth(f.a.id, month, new Date(Date.UTC(2030, 0, 1)));
  if (outcome.kind !== "closed") throw new Error(`month close answered ${outcome.kind}`);
  return outcome.invoice.invoiceId;
}

const thisMonth = () => new Date().toISOString().slice(0, 7);

const MATRIX: Record<string, MatrixRow> = {
  "organization.get": { minRole: "viewer", input: async () => ({}) },
  "organization.list": { minRole: null, input: async () => ({}) },
  "organization.members": { minRole: "viewer", input: async () => ({}) },
  "organization.invite": { minRole: "admin", input: async (f) => ({ email: `invitee-${f.seq()}@example.test`, role: "viewer" }) },
  "organization.changeRole": {
    minRole: "admin",
    input: async (f) => ({ memberId: f.a.members.operator, role: "operator" }),
    foreignInput: async (f) => ({ memberId: f.a.members.viewer, role: "viewer" }),
  },
  "apiKey.create": { minRole: "admin", input: async (f) => ({ name: `key-${f.seq()}`, role: "viewer" }) },
  "apiKey.list": { minRole: "admin", input: async () => ({}) },
  "apiKey.revoke": {
    minRole: "admin",
    input: async (f) => ({ id: (await createApiKey(f.t.api, f.a.id, "viewer")).id }),
    foreignInput: async (f) => ({ id: (await createApiKey(f.t.api, f.a.id, "viewer")).id }),
  },
  "cluster.create": { minRole: "operator", input: async (f) => ({ name: `new-${f.seq()}` }) },
  "cluster.list": { minRole: "viewer", input: async () => ({}) },
  "cluster.get": { minRole: "viewer", input: async (f) => ({ id: await newCluster(f) }), foreignInput: async (f) => ({ id: await newCluster(f) }) },
  "cluster.rename": {
    minRole: "operator",
    input: async (f) => ({ id: await newCluster(f), name: `renamed-${f.seq()}` }),
    foreignInput: async (f) => ({ id: await newCluster(f), name: `stolen-${f.seq()}` }),
  },
  "cluster.delete": { minRole: "admin", input: async (f) => ({ id: await newCluster(f) }), foreignInput: async (f) => ({ id: await newCluster(f) }) },
  "cluster.createJoinToken": {
    minRole: "operator",
    input: async (f) => ({ id: await newCluster(f) }),
    foreignInput: async (f) => ({ id: await newCluster(f) }),
  },
  "cluster.listNamespaces": { minRole: "viewer", input: async (f) => ({ clusterId: await k8sClusterOfA(f) }), foreignInput: async (f) => ({ clusterId: await k8sClusterOfA(f) }) },
  "cluster.listClaims": {
    minRole: "viewer",
    input: async (f) => ({ clusterId: await k8sClusterOfA(f), namespace: "shop", limit: 10 }),
    foreignInput: async (f) => ({ clusterId: await k8sClusterOfA(f) }),
  },
  "cluster.listStorageClasses": { minRole: "viewer", input: async (f) => ({ clusterId: await k8sClusterOfA(f) }), foreignInput: async (f) => ({ clusterId: await k8sClusterOfA(f) }) },
  "cluster.listKubernetesNodes": { minRole: "viewer", input: async (f) => ({ clusterId: await k8sClusterOfA(f) }), foreignInput: async (f) => ({ clusterId: await k8sClusterOfA(f) }) },
  "audit.list": { minRole: "admin", input: async () => ({}) },
  "fleet.overview": { minRole: "viewer", input: async () => ({}) },
  "fleet.metrics": { minRole: "viewer", input: async () => ({}), foreignInput: async (f) => ({ clusterId: await newCluster(f) }) },
  "node.list": { minRole: "viewer", input: async (f) => ({ id: await newCluster(f) }), foreignInput: async (f) => ({ id: await newCluster(f) }) },
  "volume.list": { minRole: "viewer", input: async () => ({}) },
  "volume.get": { minRole: "viewer", input: async (f) => ({ id: await volumeOfA(f) }), foreignInput: async (f) => ({ id: await volumeOfA(f) }) },
  "volume.metrics": { minRole: "viewer", input: async (f) => ({ id: await volumeOfA(f) }), foreignInput: async (f) => ({ id: await volumeOfA(f) }) },
  "volume.create": {
    minRole: "operator",
    input: async (f) => ({ clusterId: await newCluster(f), name: `vol-${f.seq()}`, sizeBytes: 1 << 30 }),
    foreignInput: async (f) => ({ clusterId: await newCluster(f), name: `vol-${f.seq()}`, sizeBytes: 1 << 30 }),
  },
  "volume.delete": { minRole: "admin", input: async (f) => ({ id: await volumeOfA(f) }), foreignInput: async (f) => ({ id: await volumeOfA(f) }) },
  "snapshot.create": {
    minRole: "operator",
    input: async (f) => ({ id: await volumeOfA(f), name: `snap-${f.seq()}` }),
    foreignInput: async (f) => ({ id: await volumeOfA(f), name: `snap-${f.seq()}` }),
  },
  "command.get": { minRole: "viewer", input: async (f) => ({ id: await newCommand(f) }), foreignInput: async (f) => ({ id: await newCommand(f) }) },
  "command.list": { minRole: "viewer", input: async () => ({}) },
  "alert.list": { minRole: "viewer", input: async () => ({}) },
  "billing.currentPeriod": { minRole: "billing", input: async () => ({}) },
  "billing.usage": { minRole: "billing", input: async () => ({ granularity: "day" }), foreignInput: async (f) => ({ clusterId: await newCluster(f) }) },
  "billing.invoices": { minRole: "billing", input: async () => ({}) },
  "billing.invoice": { minRole: "billing", input: async () => ({ id: `draft-${thisMonth()}` }), foreignInput: async (f) => ({ id: await finalizedInvoice(f) }) },
  "billing.explainLine": {
    minRole: "billing",
    input: async (f) => ({ month: thisMonth(), clusterId: await newCluster(f), unit: "node_hour" }),
    foreignInput: async (f) => ({ month: thisMonth(), clusterId: await newCluster(f), unit: "provisioned_gib_hour" }),
  },
  "billing.showback": { minRole: "billing", input: async (f) => ({ clusterId: await newCluster(f) }), foreignInput: async (f) => ({ clusterId: await newCluster(f) }) },
  "billing.budgets.list": { minRole: "billing", input: async () => ({}) },
  "billing.budgets.create": { minRole: "billing", input: async (f) => ({ name: `b-${f.seq()}`, amountMinor: "50000", thresholds: [80, 100] }) },
  "billing.budgets.update": { minRole: "billing", input: async (f) => ({ id: await newBudget(f), amountMinor: "70000" }), foreignInput: async (f) => ({ id: await newBudget(f), name: "stolen" }) },
  "billing.budgets.delete": { minRole: "billing", input: async (f) => ({ id: await newBudget(f) }), foreignInput: async (f) => ({ id: await newBudget(f) }) },
  "billing.rateCards.list": { minRole: "billing", input: async () => ({}) },
  "billing.rateCards.create": {
    minRole: "billing",
    // A year of its own per call, so the cards never overlap.
    input: async (f) => {
      const year = 2100 + f.seq();
      return {
        currency: "USD",
        effectiveFrom: `${year}-01-01T00:00:00.000Z`,
        effectiveTo: `${year + 1}-01-01T00:00:00.000Z`,
        nodeHour: { default: [{ upTo: null, unitPriceMinor: "5" }] },
        provisionedGibMonth: [{ upTo: null, unitPriceMinor: "8" }],
        replicatedGibMonth: [{ upTo: null, unitPriceMinor: "4" }],
        freeNodes: 0,
        taxRateBasisPoints: 0,
      };
    },
  },
  "billing.rateCards.setEnd": { minRole: "billing", input: async (f) => newRateCardEnd(f), foreignInput: async (f) => newRateCardEnd(f) },
  "billing.settings.get": { minRole: "billing", input: async () => ({}) },
  "billing.settings.update": { minRole: "billing", input: async () => ({ gracePeriodMinutes: 360 }) },
  "billing.setInvoiceStatus": { minRole: "billing", input: async (f) => ({ id: await finalizedInvoice(f), status: "paid" }), foreignInput: async (f) => ({ id: await finalizedInvoice(f), status: "void" }) },
  "billing.excludeNode": {
    minRole: "billing",
    input: async (f) => ({ clusterId: await newCluster(f), nodeId: "node-1", from: new Date().toISOString() }),
    foreignInput: async (f) => ({ clusterId: await newCluster(f), nodeId: "node-1", from: new Date().toISOString() }),
  },
  "billing.nodeExclusions.list": { minRole: "billing", input: async () => ({}), foreignInput: async (f) => ({ clusterId: await newCluster(f) }) },
  "billing.nodeExclusions.end": { minRole: "billing", input: async (f) => ({ id: await newExclusion(f) }), foreignInput: async (f) => ({ id: await newExclusion(f) }) },
};

function procedureType(proc: unknown): string {
  if (typeof proc !== "function" && typeof proc !== "object") return "unknown";
  const def: unknown = proc && Reflect.get(proc, "_def");
  const type: unknown = typeof def === "object" && def !== null ? Reflect.get(def, "type") : undefined;
  return typeof type === "string" ? type : "unknown";
}

function openApiOf(proc: unknown): { method: string; path: string } | null {
  if (typeof proc !== "function" && typeof proc !== "object") return null;
  const def: unknown = proc && Reflect.get(proc, "_def");
  const meta: unknown = typeof def === "object" && def !== null ? Reflect.get(def, "meta") : undefined;
  const openapi: unknown = typeof meta === "object" && meta !== null ? Reflect.get(meta, "openapi") : undefined;
  if (typeof openapi !== "object" || openapi === null) return null;
  const method: unknown = Reflect.get(openapi, "method");
  const path: unknown = Reflect.get(openapi, "path");
  return typeof method === "string" && typeof path === "string" ? { method, path } : null;
}

const procedures = Object.entries(appRouter._def.procedures).map(([path, proc]: [string, unknown]) => ({
  path,
  type: procedureType(proc),
  openapi: openApiOf(proc),
}));

/** The REST request for a procedure and an input, built from its OpenAPI metadata. */
function restRequest(openapi: { method: string; path: string }, input: unknown, key: string | null): Request {
  const fields: Record<string, unknown> = typeof input === "object" && input !== null ? Object.fromEntries(Object.entries(input)) : {};
  const path = openapi.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = fields[name];
    delete fields[name];
    return encodeURIComponent(String(value));
  });
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (openapi.method === "GET" || openapi.method === "DELETE") {
    const qs = new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return new Request(`${BASE_URL}/api/v1${path}${qs ? `?${qs}` : ""}`, { method: openapi.method, headers });
  }
  return new Request(`${BASE_URL}/api/v1${path}`, {
    method: openapi.method,
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(fields),
  });
}

function procedureAt(caller: unknown, path: string): (input: unknown) => Promise<unknown> {
  let node: unknown = caller;
  for (const segment of path.split(".")) {
    if ((typeof node !== "object" && typeof node !== "function") || node === null) throw new Error(`no procedure at ${path}`);
    node = Reflect.get(node, segment);
  }
  if (typeof node !== "function") throw new Error(`no procedure at ${path}`);
  const fn = node;
  return async (input) => {
    const result: unknown = await Reflect.apply(fn, undefined, [input]);
    return result;
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}

describe("authorization matrix", () => {
  let f: Fixtures;
  let n = 0;

  beforeAll(async () => {
    const t = await createTestApi();
    const [a, b] = [await createOrgWithRoles(t.api, "alpha"), await createOrgWithRoles(t.api, "bravo")];
    f = { t, a, b, seq: () => ++n };
  });
  afterAll(async () => {
    await f.t.close();
  });

  it("has a row for every procedure of the router, and no row for a procedure that does not exist", () => {
    const paths = procedures.map((p) => p.path).sort();
    expect(paths.filter((p) => !(p in MATRIX)), "procedures missing from the authorization matrix").toEqual([]);
    expect(Object.keys(MATRIX).filter((p) => !paths.includes(p)), "matrix rows without a procedure").toEqual([]);
    expect(paths.length).toBeGreaterThanOrEqual(15);
  });

  it("never lets a viewer mutate", () => {
    expect(procedures.filter((p) => p.type === "mutation").length).toBeGreaterThanOrEqual(8);
    for (const p of procedures.filter((x) => x.type === "mutation")) {
      const row = MATRIX[p.path];
      expect(row?.minRole, `${p.path} is a mutation`).not.toBe("viewer");
      expect(row?.minRole, `${p.path} is a mutation`).not.toBeNull();
    }
  });

  for (const { path } of procedures) {
    describe(path, () => {
      const row = (): MatrixRow => {
        const r = MATRIX[path];
        if (!r) throw new Error(`no matrix row for ${path}`);
        return r;
      };

      it("refuses an unauthenticated caller with UNAUTHORIZED", async () => {
        const call = procedureAt(callerFor(f.t.api, null), path);
        expect(await codeOf(call(await row().input(f)))).toBe("UNAUTHORIZED");
      });

      it("refuses every role that is not at least the one it needs with FORBIDDEN, and admits that role", async () => {
        const min = row().minRole;
        // Roles form a partial order (billing beside operator), so every role is checked; of the
        // admitted ones only the weakest is called, stronger ones behave the same.
        for (const role of ROLES) {
          const admitted = min === null || roleAtLeast(role, min);
          if (admitted && role !== (min ?? ROLES[0])) continue;
          const call = procedureAt(callerFor(f.t.api, f.a.users[role], f.a.id), path);
          const code = await codeOf(call(await row().input(f)));
          expect(code, `${path} as ${role}`).toBe(admitted ? "OK" : "FORBIDDEN");
        }
      });

      it("answers NOT_FOUND to a member of another organization naming this organization's object", async () => {
        const foreign = row().foreignInput;
        if (!foreign) return;
        const call = procedureAt(callerFor(f.t.api, f.b.users.owner, f.b.id), path);
        expect(await codeOf(call(await foreign(f)))).toBe("NOT_FOUND");
      });

      it("over REST: 401 without a key, 403 for a weaker key, 404 for another organization's key", async () => {
        const openapi = procedures.find((p) => p.path === path)?.openapi;
        if (!openapi) return;
        const r = row();
        const rest = (req: Request) => f.t.api.handlers.rest(req);
        expect((await rest(restRequest(openapi, await r.input(f), null))).status).toBe(401);
        const min = r.minRole ?? "viewer";
        for (const weaker of API_KEY_ROLES.filter((role) => !roleAtLeast(role, min))) {
          const key = await createApiKey(f.t.api, f.a.id, weaker);
          const res = await rest(restRequest(openapi, await r.input(f), key.secret));
          expect(res.status, `${openapi.method} ${openapi.path} as ${weaker}`).toBe(403);
        }
        const admitted = await createApiKey(f.t.api, f.a.id, min);
        const ok = await rest(restRequest(openapi, await r.input(f), admitted.secret));
        expect(ok.status, `${openapi.method} ${openapi.path} as ${min}: ${await ok.clone().text()}`).toBe(200);
        if (r.foreignInput) {
          const theirs = await createApiKey(f.t.api, f.b.id, "owner");
          expect((await rest(restRequest(openapi, await r.foreignInput(f), theirs.secret))).status).toBe(404);
        }
      });

      it("refuses a session whose active organization the user does not belong to", async () => {
        if (row().minRole === null) return;
        const call = procedureAt(callerFor(f.t.api, f.b.users.owner, f.a.id), path);
        expect(await codeOf(call(await row().input(f)))).toBe("FORBIDDEN");
      });
    });
  }
});
