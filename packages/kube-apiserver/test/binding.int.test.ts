/** pods/binding as kube-scheduler uses it: sets spec.nodeName once, 409 after, validated, guarded by RBAC and preconditions. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, startHarness, type Harness } from "./harness";

let h: Harness;
const ns = "binding";
interface PodBody {
  metadata: { uid: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: { nodeName?: string };
  status?: { conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }> };
}
interface StatusBody {
  kind: string;
  status: string;
  code: number;
  reason?: string;
  message?: string;
  details?: Record<string, unknown>;
}
const asPod = (r: { json: unknown }): PodBody => r.json as PodBody;
const asStatus = (r: { json: unknown }): StatusBody => r.json as StatusBody;

async function createPod(name: string): Promise<PodBody> {
  const r = await request(h.server, "POST", `/api/v1/namespaces/${ns}/pods`, { body: { apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { containers: [{ name: "app", image: "registry.example/app:1" }] } } });
  expect(r.status).toBe(201);
  return asPod(r);
}

function bind(pod: string, node: string, extra: { uid?: string; resourceVersion?: string; annotations?: Record<string, string>; name?: string } = {}, token?: string) {
  const metadata = { name: extra.name ?? pod, namespace: ns, ...(extra.uid ? { uid: extra.uid } : {}), ...(extra.resourceVersion ? { resourceVersion: extra.resourceVersion } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) };
  return request(h.server, "POST", `/api/v1/namespaces/${ns}/pods/${pod}/binding`, { body: { apiVersion: "v1", kind: "Binding", metadata, target: { apiVersion: "v1", kind: "Node", name: node } }, ...(token ? { token } : {}) });
}

beforeAll(async () => {
  h = await startHarness();
  await request(h.server, "POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
});
afterAll(async () => {
  await h.stop();
});

describe("pods/binding", () => {
  it("binds a pod once: 201 Success, spec.nodeName, PodScheduled=True, the binding's annotations; then 409 naming the node", async () => {
    const pod = await createPod("web-0");
    const first = await bind("web-0", "node-a", { uid: pod.metadata.uid, annotations: { "example.com/placed-by": "test" } });
    expect(first.status).toBe(201);
    expect(asStatus(first)).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
    const after = asPod(await request(h.server, "GET", `/api/v1/namespaces/${ns}/pods/web-0`));
    expect(after.spec.nodeName).toBe("node-a");
    expect(after.metadata.annotations).toMatchObject({ "example.com/placed-by": "test" });
    expect(after.status?.conditions?.find((c) => c.type === "PodScheduled")).toMatchObject({ status: "True" });
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(pod.metadata.resourceVersion));

    const again = await bind("web-0", "node-b");
    expect(again.status).toBe(409);
    expect(asStatus(again)).toMatchObject({ status: "Failure", reason: "Conflict", code: 409, message: 'Operation cannot be fulfilled on pods/binding "web-0": pod web-0 is already assigned to node "node-a"', details: { name: "web-0", kind: "pods/binding" } });
    expect(asPod(await request(h.server, "GET", `/api/v1/namespaces/${ns}/pods/web-0`)).spec.nodeName).toBe("node-a");
  });

  it("refuses a stale uid or resourceVersion, a name that is not the URL's, a missing target, and a missing pod", async () => {
    const pod = await createPod("web-1");
    const wrongUid = await bind("web-1", "node-a", { uid: "not-the-uid" });
    expect(wrongUid.status).toBe(409);
    expect(asStatus(wrongUid).message).toContain("Precondition failed: UID in precondition: not-the-uid");
    const staleRv = await bind("web-1", "node-a", { resourceVersion: "1" });
    expect(staleRv.status).toBe(409);
    const otherName = await bind("web-1", "node-a", { name: "web-2" });
    expect(otherName.status).toBe(400);
    expect(asStatus(otherName).message).toBe("name in URL does not match name in Binding object");
    const noTarget = await request(h.server, "POST", `/api/v1/namespaces/${ns}/pods/web-1/binding`, { body: { apiVersion: "v1", kind: "Binding", metadata: { name: "web-1" }, target: {} } });
    expect(noTarget.status).toBe(500);
    expect(asStatus(noTarget).message).toBe("target.name: Required value");
    const missing = await bind("nowhere", "node-a");
    expect(missing.status).toBe(404);
    expect(asStatus(missing).message).toBe('pods "nowhere" not found');
    expect(asPod(await request(h.server, "GET", `/api/v1/namespaces/${ns}/pods/web-1`)).spec.nodeName).toBeUndefined();
    const ok = await bind("web-1", "node-c", { uid: pod.metadata.uid });
    expect(ok.status).toBe(201);
  });

  it("is create-only, served for pods alone, listed in discovery, and authorized as pods/binding", async () => {
    await createPod("web-3");
    expect((await request(h.server, "GET", `/api/v1/namespaces/${ns}/pods/web-3/binding`)).status).toBe(405);
    expect((await request(h.server, "POST", `/api/v1/namespaces/${ns}/configmaps/x/binding`, { body: {} })).status).toBe(404);
    const list = (await request(h.server, "GET", "/api/v1")).json as { resources: Array<{ name: string; kind: string; verbs: string[] }> };
    expect(list.resources.find((r) => r.name === "pods/binding")).toEqual({ name: "pods/binding", singularName: "", namespaced: true, kind: "Binding", verbs: ["create"] });
    const denied = await bind("web-3", "node-a", {}, "limited-token");
    expect(denied.status).toBe(403);
    expect(asStatus(denied).message).toContain('cannot create resource "pods/binding"');
  });
});
