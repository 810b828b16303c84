/** Protocol edges: pagination snapshots and expiry, bad input, auth and RBAC, deletion with finalizers, CRDs across restarts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startHarness, type Harness } from "./harness";

let h: Harness;
const ns = "proto";
type Body = Record<string, unknown> & { metadata?: Record<string, unknown>; items?: Array<{ metadata: { name: string } }> };
const body = (r: { json: unknown }): Body => r.json as Body;

beforeAll(async () => {
  h = await startHarness();
  await request(h.server, "POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
});
afterAll(async () => {
  await h.stop();
});

describe("pagination", () => {
  it("pages with continue tokens over a consistent snapshot, then expires the token after compaction", async () => {
    for (let i = 1; i <= 5; i++) await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` } } });
    const first = body(await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=2`));
    expect(first.items?.map((i) => i.metadata.name)).toEqual(["cm-1", "cm-2"]);
    expect(first.metadata?.remainingItemCount).toBe(3);
    const token = String(first.metadata?.continue);
    expect(JSON.parse(Buffer.from(token, "base64url").toString())).toEqual({ v: "meta.k8s.io/v1", rv: Number(first.metadata?.resourceVersion), start: "cm-2\u0000" });
    await request(h.server, "DELETE", `/api/v1/namespaces/${ns}/configmaps/cm-3`);
    const second = body(await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=2&continue=${token}`));
    expect(second.items?.map((i) => i.metadata.name)).toEqual(["cm-3", "cm-4"]);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const withRv = await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=2&continue=${token}&resourceVersion=5`);
    expect(withRv.status).toBe(400);
    const now = Number(body(await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps`)).metadata?.resourceVersion);
    await h.server.context.store.compact(now);
    const expired = await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=2&continue=${token}`);
    expect(expired.status).toBe(410);
    const fresh = String(body(expired).metadata?.continue);
    expect(JSON.parse(Buffer.from(fresh, "base64url").toString())).toMatchObject({ rv: -1, start: "cm-2\u0000" });
    const rest = body(await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=10&continue=${fresh}`));
    expect(rest.items?.map((i) => i.metadata.name)).toEqual(["cm-4", "cm-5"]);
  });
});

describe("bad input", () => {
  it("answers malformed JSON, unknown fields under Strict, and unknown paths with Status bodies", async () => {
    const malformed = await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: '{"apiVersion":"v1","kind":' });
    expect(malformed.status).toBe(400);
    expect(body(malformed)).toMatchObject({ kind: "Status", reason: "BadRequest" });
    const notObject = await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: "[1,2]" });
    expect(notObject.status).toBe(400);
    const strict = await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "s" }, bogus: 1 } });
    expect(strict.status).toBe(400);
    expect(String(body(strict).message)).toContain('strict decoding error: unknown field "bogus"');
    const badPatch = await request(h.server, "PATCH", `/api/v1/namespaces/${ns}/configmaps/cm-1`, { body: "{nope", contentType: "application/merge-patch+json" });
    expect(badPatch.status).toBe(400);
    const unknownResource = await request(h.server, "GET", "/apis/apps/v1/nonexistents");
    expect(unknownResource.status).toBe(404);
    expect(body(unknownResource)).toMatchObject({ kind: "Status", message: "the server could not find the requested resource" });
    const unknownGroup = await request(h.server, "GET", "/apis/nonexistent.example.com/v1");
    expect(unknownGroup.text).toBe("404 page not found\n");
    const selector = await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps?labelSelector=a%20b`);
    expect(body(selector).message).toBe("unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    const field = await request(h.server, "GET", `/api/v1/namespaces/${ns}/pods?fieldSelector=spec.bogus%3D1`);
    expect(field.status).toBe(400);
    const dep = await request(h.server, "POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "mismatch" }, spec: { selector: { matchLabels: { app: "a" } }, template: { metadata: { labels: { app: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } } } });
    expect(dep.status).toBe(422);
    const pvc = await request(h.server, "POST", `/api/v1/namespaces/${ns}/persistentvolumeclaims`, { body: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "nosize" }, spec: { accessModes: ["ReadWriteOnce"] } } });
    expect(pvc.status).toBe(422);
    expect(JSON.stringify(body(pvc).details)).toContain("spec.resources[storage]");
  });
});

describe("auth", () => {
  it("401 for a bad token, 403 for anonymous resources but /version allowed, RBAC grants what a role allows", async () => {
    expect((await request(h.server, "GET", "/api/v1/namespaces", { token: "wrong" })).status).toBe(401);
    const anon = await request(h.server, "GET", "/api/v1/namespaces", { token: null });
    expect(anon.status).toBe(403);
    expect(body(anon).message).toBe('namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope');
    expect((await request(h.server, "GET", "/version", { token: null })).status).toBe(200);
    expect((await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps`, { token: "limited-token" })).status).toBe(403);
    await request(h.server, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, { body: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "cm-reader" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"], resourceNames: [] }] } });
    await request(h.server, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, { body: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "limited-reads" }, subjects: [{ kind: "User", name: "limited" }], roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" } } });
    expect((await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps`, { token: "limited-token" })).status).toBe(200);
    expect((await request(h.server, "DELETE", `/api/v1/namespaces/${ns}/configmaps/cm-1`, { token: "limited-token" })).status).toBe(403);
    expect((await request(h.server, "GET", "/api/v1/namespaces/default/configmaps", { token: "limited-token" })).status).toBe(403);
  });
});

describe("deletion", () => {
  it("holds objects with finalizers, propagates Foreground/Orphan, and removes them with the last finalizer", async () => {
    await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", finalizers: ["example.com/hold"] } } });
    const del = await request(h.server, "DELETE", `/api/v1/namespaces/${ns}/configmaps/held`, { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Foreground" } });
    expect(del.status).toBe(200);
    expect(body(del).kind).toBe("ConfigMap");
    expect(body(del).metadata).toMatchObject({ finalizers: ["example.com/hold", "foregroundDeletion"] });
    expect(body(del).metadata?.deletionTimestamp).toBeTypeOf("string");
    const release = await request(h.server, "PATCH", `/api/v1/namespaces/${ns}/configmaps/held`, { body: { metadata: { finalizers: null } }, contentType: "application/merge-patch+json" });
    expect(release.status).toBe(200);
    expect((await request(h.server, "GET", `/api/v1/namespaces/${ns}/configmaps/held`)).status).toBe(404);
    const pvc = await request(h.server, "POST", `/api/v1/namespaces/${ns}/persistentvolumeclaims`, { body: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } } });
    expect(body(pvc).metadata?.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    expect(body(pvc).status).toEqual({ phase: "Pending" });
    const protectedNs = await request(h.server, "DELETE", "/api/v1/namespaces/default");
    expect(protectedNs.status).toBe(403);
  });
});

describe("CRDs", () => {
  it("serve their resource after a restart, since they live in etcd", async () => {
    const crd = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "gizmos.demo.stowage.io" }, spec: { group: "demo.stowage.io", scope: "Cluster", names: { plural: "gizmos", kind: "Gizmo" }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", properties: { n: { type: "integer", default: 3 } } } } } } }] } };
    expect((await request(h.server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { body: crd })).status).toBe(201);
    const created = await request(h.server, "POST", "/apis/demo.stowage.io/v1/gizmos", { body: { apiVersion: "demo.stowage.io/v1", kind: "Gizmo", metadata: { name: "g1" }, spec: {} } });
    expect(created.status).toBe(201);
    expect(body(created).spec).toEqual({ n: 3 });
    await h.server.stop();
    await h.start();
    const read = await request(h.server, "GET", "/apis/demo.stowage.io/v1/gizmos/g1");
    expect(read.status).toBe(200);
    const established = body(await request(h.server, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.demo.stowage.io"));
    expect(JSON.stringify(established.status)).toContain('"type":"Established","status":"True"');
    await request(h.server, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.demo.stowage.io");
    await expect.poll(async () => (await request(h.server, "GET", "/apis/demo.stowage.io/v1/gizmos")).status).toBe(404);
  });
});
