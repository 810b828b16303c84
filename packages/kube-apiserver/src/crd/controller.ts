/**
 * CustomResourceDefinitions: an established CRD registers its resource, so it is served with
 * discovery and OpenAPI. CRDs live in etcd, so a restarted server (or another one on the same etcd)
 * serves them again. Conditions NamesAccepted and Established are written through status; deleting a
 * CRD removes its instances first (the customresourcecleanup finalizer), then the CRD.
 */
import type { IKeyValue, Watcher } from "etcd3";
import { arrayAt, isObject, objectAt, stringAt, type JsonObject } from "../json";
import { crdColumns } from "../registry/columns";
import type { ResourceRegistry } from "../registry/registry";
import type { ResourceType, ScaleSpec } from "../registry/types";
import { decodeKv, type EtcdStore } from "../storage/store";
import { nowSeconds } from "../context";

const cleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";
const allVerbs = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

export function typesFromCrd(crd: JsonObject): ResourceType[] {
  const spec = objectAt(crd, "spec") ?? {};
  const names = objectAt(spec, "names") ?? {};
  const group = stringAt(spec, "group") ?? "";
  const plural = stringAt(names, "plural") ?? "";
  const kind = stringAt(names, "kind") ?? "";
  const crdName = stringAt(objectAt(crd, "metadata"), "name") ?? "";
  return (arrayAt(spec, "versions") ?? []).filter(isObject).filter((v) => v.served !== false).map((v) => {
    const subs = objectAt(v, "subresources") ?? objectAt(spec, "subresources") ?? {};
    const scaleRaw = objectAt(subs, "scale");
    const scale: ScaleSpec | undefined = scaleRaw
      ? { specReplicasPath: stringAt(scaleRaw, "specReplicasPath") ?? ".spec.replicas", statusReplicasPath: stringAt(scaleRaw, "statusReplicasPath") ?? ".status.replicas", ...(stringAt(scaleRaw, "labelSelectorPath") ? { labelSelectorPath: stringAt(scaleRaw, "labelSelectorPath") ?? "" } : {}) }
      : undefined;
    const schema = objectAt(objectAt(v, "schema"), "openAPIV3Schema");
    const columns = (arrayAt(v, "additionalPrinterColumns") ?? arrayAt(spec, "additionalPrinterColumns") ?? []).filter(isObject);
    return {
      group,
      version: stringAt(v, "name") ?? "",
      resource: plural,
      singular: stringAt(names, "singular") ?? kind.toLowerCase(),
      kind,
      listKind: stringAt(names, "listKind") ?? `${kind}List`,
      namespaced: stringAt(spec, "scope") !== "Cluster",
      shortNames: (arrayAt(names, "shortNames") ?? []).filter((s): s is string => typeof s === "string"),
      categories: (arrayAt(names, "categories") ?? []).filter((s): s is string => typeof s === "string"),
      verbs: allVerbs,
      subresources: { status: objectAt(subs, "status") !== undefined, ...(scale ? { scale } : {}) },
      tracksGeneration: true,
      unstructured: true,
      nameRule: "subdomain",
      storageResource: `${group}/${plural}`,
      columns: crdColumns(columns),
      fieldSelectors: {},
      ...(schema ? { schema } : {}),
      crdName,
    };
  });
}

function condition(type: string, reason: string, message: string): JsonObject {
  return { type, status: "True", lastTransitionTime: nowSeconds(), reason, message };
}

export class CrdController {
  private watcher: Watcher | undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly registry: ResourceRegistry,
    private readonly prefix: string,
  ) {}

  private get crdPrefix(): string {
    return `${this.prefix}/apiextensions.k8s.io/customresourcedefinitions/`;
  }

  async start(): Promise<void> {
    const page = await this.store.list(this.crdPrefix);
    for (const item of page.items) await this.sync(item.object);
    this.watcher = this.store.client.watch().prefix(this.crdPrefix).startRevision(String(page.revision + 1)).watcher();
    this.watcher.on("put", (kv: IKeyValue) => void this.sync(decodeKv(kv).object).catch(() => undefined));
    this.watcher.on("delete", (kv: IKeyValue) => this.registry.setCustom(kv.key.toString("utf8").slice(this.crdPrefix.length), []));
  }

  async stop(): Promise<void> {
    await this.watcher?.cancel();
  }

  /** Registers a CRD's resource, writes its conditions, or runs its deletion. Safe to call repeatedly. */
  async sync(crd: JsonObject): Promise<void> {
    const meta = objectAt(crd, "metadata") ?? {};
    const name = stringAt(meta, "name") ?? "";
    if (meta.deletionTimestamp !== undefined) {
      await this.finalize(name);
      return;
    }
    this.registry.setCustom(name, typesFromCrd(crd));
    await this.establish(name);
  }

  private async establish(name: string): Promise<void> {
    const key = `${this.crdPrefix}${name}`;
    const current = await this.store.get(key);
    if (current === undefined) return;
    const status = objectAt(current.object, "status") ?? {};
    const conditions = (arrayAt(status, "conditions") ?? []).filter(isObject);
    if (conditions.some((c) => c.type === "Established" && c.status === "True")) return;
    const names = objectAt(objectAt(current.object, "spec"), "names") ?? {};
    const next: JsonObject = {
      ...current.object,
      status: {
        ...status,
        conditions: [condition("NamesAccepted", "NoConflicts", "no conflicts found"), condition("Established", "InitialNamesAccepted", "the initial names have been accepted")],
        acceptedNames: { ...names },
      },
    };
    const managed = arrayAt(objectAt(next, "metadata"), "managedFields") ?? [];
    next.metadata = {
      ...(objectAt(next, "metadata") ?? {}),
      managedFields: [
        ...managed,
        { manager: "kube-apiserver", operation: "Update", apiVersion: "apiextensions.k8s.io/v1", time: nowSeconds(), fieldsType: "FieldsV1", fieldsV1: { "f:status": { "f:acceptedNames": { "f:kind": {}, "f:listKind": {}, "f:plural": {}, "f:singular": {} }, "f:conditions": { 'k:{"type":"Established"}': { ".": {}, "f:lastTransitionTime": {}, "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {} }, 'k:{"type":"NamesAccepted"}': { ".": {}, "f:lastTransitionTime": {}, "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {} } } } }, subresource: "status" },
      ],
    };
    // A lost race means someone else wrote it; the watch brings the newer object back here.
    await this.store.update(key, next, current.revision);
  }

  /** Deletes every instance (all namespaces, all versions share one storage), then the CRD. */
  private async finalize(name: string): Promise<void> {
    const types = this.registry.customTypes(name);
    const storage = types[0]?.storageResource;
    if (storage !== undefined) {
      const instances = await this.store.list(`${this.prefix}/${storage}/`);
      for (const item of instances.items) await this.store.delete(item.key, item.revision);
    }
    this.registry.setCustom(name, []);
    const key = `${this.crdPrefix}${name}`;
    const current = await this.store.get(key);
    if (current === undefined) return;
    const finalizers = (arrayAt(objectAt(current.object, "metadata"), "finalizers") ?? []).filter((f) => f !== cleanupFinalizer);
    if (finalizers.length === 0) await this.store.delete(key, current.revision);
    else await this.store.update(key, { ...current.object, metadata: { ...(objectAt(current.object, "metadata") ?? {}), finalizers } }, current.revision);
  }
}
