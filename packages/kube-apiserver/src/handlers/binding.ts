/**
 * POST pods/<name>/binding: what kube-scheduler uses to place a pod. The pod's spec.nodeName is set
 * once (a pod already on a node, being deleted or gated gets 409), the Binding's annotations are
 * copied onto the pod and its PodScheduled condition turns True, in one guarded write, as
 * BindingREST.assignPod does. The answer is a bare Success Status with code 201.
 */
import { z } from "zod";
import { arrayAt, clone, ensureObject, objectAt, parseJson, stringAt, type Json, type JsonObject } from "../json";
import { ApiError, errors } from "../status";
import { nowSeconds, objectKey, resourceRef, type Reply, type RequestScope, type ServerContext } from "../context";
import { defaultAndValidate, updateManagedFields } from "./prepare";
import { getObject } from "./read";
import { isDryRun } from "./write";

const bindingSchema = z.looseObject({
  kind: z.literal("Binding", { error: "kind must be Binding" }).optional(),
  apiVersion: z.literal("v1", { error: "apiVersion must be v1" }).optional(),
  metadata: z.looseObject({
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }).optional(),
  target: z.looseObject({ kind: z.string().optional(), name: z.string().optional(), apiVersion: z.string().optional() }).optional(),
});

/** pods/binding conflicts name the subresource as their kind (NewConflict(api.Resource("pods/binding"), ...)). */
function bindingConflict(pod: string, why: string): ApiError {
  return new ApiError(409, "Conflict", `Operation cannot be fulfilled on pods/binding "${pod}": ${why}`, { name: pod, kind: "pods/binding" });
}

function decodeBinding(raw: string): z.output<typeof bindingSchema> {
  let json: Json;
  try {
    json = parseJson(raw);
  } catch (err) {
    throw errors.badRequest(`error decoding Binding: ${err instanceof Error ? err.message : "invalid JSON"}`);
  }
  const parsed = bindingSchema.safeParse(json);
  if (!parsed.success) throw errors.badRequest(`Binding: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** ValidatePodBinding; its aggregate error is not a Status error upstream, so it answers 500 with the field errors. */
function validateTarget(target: { kind?: string | undefined; name?: string | undefined } | undefined): void {
  const problems: string[] = [];
  const kind = target?.kind ?? "";
  if (kind !== "" && kind !== "Node") problems.push(`target.kind: Unsupported value: ${JSON.stringify(kind)}: supported values: "Node", "<empty>"`);
  if ((target?.name ?? "") === "") problems.push("target.name: Required value");
  if (problems.length === 1) throw errors.internal(problems[0] ?? "");
  if (problems.length > 1) throw errors.internal(`[${problems.join(", ")}]`);
}

export async function handleBinding(ctx: ServerContext, scope: RequestScope, podName: string, raw: string): Promise<Reply> {
  const binding = decodeBinding(raw);
  if ((binding.metadata?.name ?? "") !== podName) throw errors.badRequest("name in URL does not match name in Binding object");
  validateTarget(binding.target);
  const node = binding.target?.name ?? "";
  const podScope: RequestScope = { ...scope, subresource: undefined };
  // GuaranteedUpdate: a write that lost to another writer is tried again on the new object.
  for (let attempt = 0; ; attempt++) {
    const current = await getObject(ctx, podScope, podName);
    const meta = objectAt(current.object, "metadata") ?? {};
    const uid = binding.metadata?.uid;
    if (uid !== undefined && uid !== "" && uid !== stringAt(meta, "uid")) {
      throw errors.conflictWith(resourceRef(scope.type), podName, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${stringAt(meta, "uid") ?? ""}`);
    }
    const rv = binding.metadata?.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== String(current.revision)) {
      throw errors.conflictWith(resourceRef(scope.type), podName, `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${current.revision}`);
    }
    if (meta.deletionTimestamp !== undefined) throw bindingConflict(podName, `pod ${podName} is being deleted, cannot be assigned to a host`);
    const spec = objectAt(current.object, "spec") ?? {};
    const assigned = stringAt(spec, "nodeName") ?? "";
    if (assigned !== "") throw bindingConflict(podName, `pod ${podName} is already assigned to node ${JSON.stringify(assigned)}`);
    if ((arrayAt(spec, "schedulingGates") ?? []).length > 0) throw bindingConflict(podName, `pod ${podName} has non-empty .spec.schedulingGates`);

    const next = bound(current.object, node, binding.metadata?.annotations ?? {});
    defaultAndValidate(scope.type, next, current.object);
    updateManagedFields(scope.type, current.object, next, { manager: scope.manager, subresource: "binding" });
    if (isDryRun(scope)) return success();
    const revision = await ctx.store.update(objectKey(ctx, scope.type, scope.namespace, podName), next, current.revision);
    if (revision !== undefined) return success();
    if (attempt >= 5) throw errors.conflict(resourceRef(scope.type), podName);
  }
}

/** The pod on `node`, with the Binding's annotations and PodScheduled=True (transition time kept if it already was). */
function bound(pod: JsonObject, node: string, annotations: Record<string, string>): JsonObject {
  const next = clone(pod);
  ensureObject(next, "spec").nodeName = node;
  const meta = ensureObject(next, "metadata");
  delete meta.resourceVersion;
  if (Object.keys(annotations).length > 0) meta.annotations = { ...(objectAt(meta, "annotations") ?? {}), ...annotations };
  const status = ensureObject(next, "status");
  const conditions = (arrayAt(status, "conditions") ?? []).filter((c): c is JsonObject => typeof c === "object" && c !== null && !Array.isArray(c));
  const previous = conditions.find((c) => c.type === "PodScheduled");
  const scheduled: JsonObject = { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: previous?.status === "True" && previous.lastTransitionTime !== undefined ? previous.lastTransitionTime : nowSeconds() };
  status.conditions = previous === undefined ? [...conditions, scheduled] : conditions.map((c) => (c === previous ? scheduled : c));
  return next;
}

function success(): Reply {
  return { status: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
}

